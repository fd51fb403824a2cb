using System.Text.Json.Nodes;
using BertSharp.Modeling;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Modeling;

/// <summary><c>bert inspect</c> of presets and config files, its module tree, and <c>--config FILE.json</c> wherever a preset goes.</summary>
[Collection(SerialCollection.Name)]
[Trait(SerialCollection.TraitName, SerialCollection.TraitValue)]
public class InspectPresetTests
{
    /// <summary>BertModel's parameters from its sizes: embeddings + layers + pooler, written out from the architecture.</summary>
    private static long BertModelParameters(long v, long p, long t, long h, long i, long layers) =>
        ((v + p + t) * h) + (2 * h)
        + (layers * ((4 * ((h * h) + h)) + (2 * h) + ((h * i) + i) + ((i * h) + h) + (2 * h)))
        + ((h * h) + h);

    [Fact]
    public void Inspect_mini_shows_the_preset_without_weights()
    {
        var r = CliRunner.Run("inspect", "mini");
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains("weights      none (a preset or config file", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("architecture BertModel", r.StdOut, StringComparison.Ordinal);
        Assert.Matches(@"│ hidden_size\s+│ 256\s+│", r.StdOut);
        Assert.Matches(@"│ num_hidden_layers\s+│ 4\s+│", r.StdOut);
        // 11,170,560 for mini with the default 30,522-token vocabulary (the "11.2 M" of the README).
        Assert.Contains($"parameters   {BertModelParameters(30522, 512, 2, 256, 1024, 4):N0}", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("(0-3): 4 x BertLayer(", r.StdOut, StringComparison.Ordinal);
        Assert.DoesNotContain("checkpoint tensors", r.StdOut, StringComparison.Ordinal);

        var head = CliRunner.Run("inspect", "--model", "tiny", "--architecture", "BertForSequenceClassification");
        Assert.Contains("(classifier): Linear(in_features=128, out_features=2, bias=True)", head.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public void The_module_tree_reads_as_print_model()
    {
        var expected = """
            BertForSequenceClassification(
              (bert): BertModel(
                (embeddings): BertEmbeddings(
                  (word_embeddings): Embedding(512, 64)
                  (position_embeddings): Embedding(64, 64)
                  (token_type_embeddings): Embedding(2, 64)
                  (LayerNorm): LayerNorm((64,), eps=1e-12, elementwise_affine=True)
                  (dropout): Dropout(p=0.0, inplace=False)
                )
                (encoder): BertEncoder(
                  (layer): ModuleList(
                    (0-1): 2 x BertLayer(
                      (attention): BertAttention(
                        (self): BertSelfAttention(
                          (query): Linear(in_features=64, out_features=64, bias=True)
                          (key): Linear(in_features=64, out_features=64, bias=True)
                          (value): Linear(in_features=64, out_features=64, bias=True)
                          (dropout): Dropout(p=0.0, inplace=False)
                        )
                        (output): BertResidualOutput(
                          (dense): Linear(in_features=64, out_features=64, bias=True)
                          (LayerNorm): LayerNorm((64,), eps=1e-12, elementwise_affine=True)
                          (dropout): Dropout(p=0.0, inplace=False)
                        )
                      )
                      (intermediate): BertIntermediate(
                        (dense): Linear(in_features=64, out_features=128, bias=True)
                      )
                      (output): BertResidualOutput(
                        (dense): Linear(in_features=128, out_features=64, bias=True)
                        (LayerNorm): LayerNorm((64,), eps=1e-12, elementwise_affine=True)
                        (dropout): Dropout(p=0.0, inplace=False)
                      )
                    )
                  )
                )
                (pooler): BertPooler(
                  (dense): Linear(in_features=64, out_features=64, bias=True)
                )
              )
              (dropout): Dropout(p=0.0, inplace=False)
              (classifier): Linear(in_features=64, out_features=3, bias=True)
            )
            """;
        Assert.Equal(expected.ReplaceLineEndings("\n"), ModelInspection.Tree(HfFixture.Dir("sequence-classification")));
        var r = CliRunner.Run("inspect", "--model", HfFixture.Dir("sequence-classification"), "--no-keys");
        Assert.Contains(expected.ReplaceLineEndings("\n"), r.StdOut.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.DoesNotContain("BertForSequenceClassification(", CliRunner.Run("inspect", HfFixture.Dir("sequence-classification"), "--no-tree").StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public void A_config_file_is_built_as_its_architectures_first_entry_as_the_help_says()
    {
        // HF's pretraining fixture: BertForPreTraining, whose num_parameters() is 113,154 (manifest.json's
        // num_parameters_stored); read as BertModel it showed 108,224 and "architecture BertModel".
        var config = Path.Combine(TestPaths.Fixtures, "hf_bert", "pretraining", "config.json");
        var r = CliRunner.Run("inspect", config, "--no-tree");
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains("architecture BertForPreTraining\n", r.StdOut.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Contains("parameters   113,154", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("cls.seq_relationship", r.StdOut, StringComparison.Ordinal);
        var chosen = CliRunner.Run("inspect", config, "--no-tree", "--architecture", "BertModel");
        Assert.Contains("parameters   108,224", chosen.StdOut, StringComparison.Ordinal);
        // A shard index is no config: read as one it was BERT-base's defaults (109,482,240 parameters), exit 0.
        var index = Path.Combine(TestPaths.Fixtures, "checkpoints", "sharded", "model.safetensors.index.json");
        CliRunner.Run("inspect", index).AssertOneLineError($"error: {index}: a checkpoint's shard index (field 'weight_map'), not a config.json");
    }

    [Fact]
    public void A_config_file_goes_wherever_a_preset_does()
    {
        using var tmp = TestPaths.TempDir();
        var config = tmp.File("my-bert.json");
        File.WriteAllText(config, """{"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 64, "max_position_embeddings": 40}""");
        var inspect = CliRunner.Run("inspect", config);
        Assert.True(inspect.ExitCode == 0, inspect.StdErr);
        Assert.Contains($"parameters   {BertModelParameters(30522, 40, 2, 32, 64, 1):N0}", inspect.StdOut, StringComparison.Ordinal);

        var vocab = Path.Combine(TestPaths.Fixtures, "hf_bert", "sequence-classification", "vocab.txt");
        var finetune = CliRunner.Run("finetune", "--task", "sst2", "--data", Path.Combine(TestPaths.Fixtures, "data", "sst2_train.tsv"), "--val-size", "0",
            "--config", config, "--vocab", vocab, "--output", tmp.File("m"), "--epochs", "1", "--device", "cpu");
        Assert.True(finetune.ExitCode == 0, finetune.StdErr);
        Assert.Contains($"model: {config}, every weight newly initialised", finetune.StdErr, StringComparison.Ordinal);
        // The default max length is the task's 128 bounded by the file's 40 positions.
        Assert.Contains("max length: 40 tokens", finetune.StdErr, StringComparison.Ordinal);
        var saved = JsonNode.Parse(File.ReadAllText(tmp.File("m/config.json")))!;
        Assert.Equal(32, (int)saved["hidden_size"]!);
        Assert.Equal(512, (int)saved["vocab_size"]!);

        var (data, pretrainVocab) = Training.PretrainingTrainerTests.SmallData(tmp, dupe: 1);
        var pretrain = CliRunner.Run("pretrain", "--data", data, "--output", tmp.File("run"), "--config", config, "--vocab", pretrainVocab,
            "--steps", "1", "--batch-size", "4", "--device", "cpu");
        Assert.True(pretrain.ExitCode == 0, pretrain.StdErr);
        Assert.Equal(32, (int)JsonNode.Parse(File.ReadAllText(tmp.File("run/final/config.json")))!["hidden_size"]!);

        var missing = CliRunner.Run("inspect", "--model", tmp.File("nope.json"));
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("nope.json: config file not found", missing.StdErr, StringComparison.Ordinal);
    }
}
