using System.Text.Json.Nodes;
using BertSharp.Inference;
using BertSharp.Modeling;
using BertSharp.Server;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;

namespace BertSharp.Tests.Inference;

/// <summary>
/// Trap 3: <c>bert ner</c> and <c>bert qa</c> ran a randomly initialised head on a checkpoint that has none (a pre-training
/// or base model) without a word. Every inference entry point now refuses, and <c>finetune</c> says what it initialised.
/// </summary>
[Collection(SerialCollection.Name)]
[Trait(SerialCollection.TraitName, SerialCollection.TraitValue)]
public sealed class UntrainedHeadTests
{
    private static readonly string Pretraining = HfFixture.Dir("pretraining");

    [Theory]
    [InlineData("ner", "token-classification head (classifier.*)")]
    [InlineData("qa", "question-answering head (qa_outputs.*)")]
    public void Ner_and_qa_refuse_a_checkpoint_without_their_head(string command, string expected)
    {
        string[] args = command == "ner"
            ? ["ner", "--model", Pretraining, "--text", "Anna lives in Paris ."]
            : ["qa", "--model", Pretraining, "--question", "where ?", "--context", "Anna lives in Paris ."];
        var r = CliRunner.Run(args);
        Assert.Equal(2, r.ExitCode);
        var line = Assert.Single(r.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"{Pretraining}: the checkpoint has no {expected}", line, StringComparison.Ordinal);
        Assert.Contains("would be newly initialised and answer at random", line, StringComparison.Ordinal);
        Assert.Equal("", r.StdOut);
    }

    [Fact]
    public void The_server_refuses_a_head_the_checkpoint_lacks()
    {
        using var tmp = TestPaths.TempDir();
        // A pre-training checkpoint whose config claims a question-answering head: the weights have no qa_outputs.
        HfFixture.CopyCase("pretraining", tmp.Path);
        var config = JsonNode.Parse(File.ReadAllText(tmp.File("config.json")))!;
        config["architectures"] = new JsonArray("BertForQuestionAnswering");
        File.WriteAllText(tmp.File("config.json"), config.ToJsonString());
        var e = Assert.Throws<BertSharpException>(() => ServedModel.Load(tmp.Path, "cpu", null));
        Assert.Contains("no question-answering head (qa_outputs.*)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_checkpoint_with_more_layers_than_its_config_is_refused_by_every_inference_entry_point()
    {
        // The classifier fixture has 2 layers; with num_hidden_layers 1 its layer-1 weights had no place and were dropped,
        // and predict answered without them (exit 0).
        using var tmp = TestPaths.TempDir();
        HfFixture.CopyCase("sequence-classification", tmp.Path);
        var config = JsonNode.Parse(File.ReadAllText(tmp.File("config.json")))!;
        config["num_hidden_layers"] = 1;
        File.WriteAllText(tmp.File("config.json"), config.ToJsonString());
        const string expected = "the checkpoint holds encoder weights this config.json has no place for (encoder.layer.1.";
        Assert.Contains(expected, Assert.Throws<BertSharpException>(() => TextClassifier.Load(tmp.Path, "cpu")).Message, StringComparison.Ordinal);
        Assert.Contains(expected, Assert.Throws<BertSharpException>(() => ServedModel.Load(tmp.Path, "cpu", null)).Message, StringComparison.Ordinal);
        Assert.Contains(expected, Assert.Throws<BertSharpException>(() => FeatureExtraction.Load(tmp.Path, "cpu")).Message, StringComparison.Ordinal);
        var r = CliRunner.Run("predict", "--model", tmp.Path, "--text", "a fine film");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(expected, r.StdErr, StringComparison.Ordinal);
        Assert.Contains(expected, Assert.Throws<BertSharpException>(() => BertSharp.Checkpoints.Onnx.OnnxExport.Export(tmp.Path, tmp.File("m.onnx"))).Message, StringComparison.Ordinal);
        Assert.False(File.Exists(tmp.File("m.onnx")));
    }

    [Fact]
    public void A_checkpoint_lacking_encoder_weights_is_not_a_bert_model()
    {
        var report = new LoadReport("dir", ["bert.encoder.layer.0.attention.self.query.weight", "embeddings.word_embeddings.weight"], [], [], []);
        var e = Assert.Throws<BertSharpException>(() => RequiredWeights.Check(report, nameof(BertModel), "dir"));
        Assert.Contains("lacks encoder weights (encoder.layer.0.attention.self.query.weight, embeddings.word_embeddings.weight)", e.Message, StringComparison.Ordinal);
        // A missing pooler is no reason to refuse embeddings (they do not use it).
        RequiredWeights.Check(new LoadReport("dir", ["pooler.dense.weight"], [], [], []), nameof(BertModel), "dir");
        // A training checkpoint continues its model whole: a tensor without a place in it is refused too (it was ignored).
        using var mlm = BertPretrained.Create<BertForMaskedLM>(HfTrainStepTests.TinyConfig());
        var unused = Assert.Throws<BertSharpException>(() => RequiredWeights.CheckWhole(new LoadReport("c", [], ["cls.predictions.bias"], [], []), mlm, "c/model.safetensors"));
        Assert.Equal("c/model.safetensors: the checkpoint holds cls.predictions.bias, which the model it continues has no place for.", unused.Message);
        // Without the word embeddings the load reports the MLM decoder's weight missing too (HF's rule); it is that matrix,
        // one weight, named once.
        var weights = BertPretrained.StateDict(mlm);
        try
        {
            Assert.True(weights.Remove("bert.embeddings.word_embeddings.weight", out var embeddings));
            embeddings.Dispose();
            var loaded = BertPretrained.LoadStateDict(mlm, weights, "c/model.safetensors");
            Assert.Contains("cls.predictions.decoder.weight", loaded.MissingKeys);
            var lacking = Assert.Throws<BertSharpException>(() => RequiredWeights.CheckWhole(loaded, mlm, "c/model.safetensors"));
            Assert.Equal("c/model.safetensors: the checkpoint lacks bert.embeddings.word_embeddings.weight; it does not hold every weight of the model it continues.",
                lacking.Message);
        }
        finally
        {
            foreach (var t in weights.Values)
            {
                t.Dispose();
            }
        }
    }

    [Fact]
    public void Finetune_prints_the_load_report_of_the_checkpoint()
    {
        using var tmp = TestPaths.TempDir();
        var r = CliRunner.Run("finetune", "--task", "sst2", "--data", Path.Combine(TestPaths.Fixtures, "data", "sst2_train.tsv"), "--model", Pretraining,
            "--output", tmp.File("m"), "--epochs", "1", "--batch-size", "4", "--max-length", "24", "--device", "cpu");
        Assert.True(r.ExitCode == 0, r.StdErr);
        // As HF logs it: the new head is initialised; the pre-training heads are not used.
        Assert.Contains($"model: {Pretraining} — 2 weight(s) newly initialised (classifier.weight, classifier.bias); ", r.StdErr, StringComparison.Ordinal);
        Assert.Contains("checkpoint tensor(s) not used (cls.predictions.", r.StdErr, StringComparison.Ordinal);
        Assert.Contains("cls.seq_relationship.", r.StdErr, StringComparison.Ordinal);
    }
}
