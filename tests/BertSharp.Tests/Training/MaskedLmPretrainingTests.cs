using System.Text.Json.Nodes;
using BertSharp.Data.Pretraining;
using BertSharp.Modeling;
using BertSharp.Tests.Data.Pretraining;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;
using BertSharp.Training;
using BertSharp.Training.Pretraining;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Tests.Training;

/// <summary>
/// <c>--objective mlm</c>: packed single-segment data, a BertForMaskedLM step against HF's masked-LM fixture and a hand-computed
/// AdamW update, and continuing a plain BertModel checkpoint through the CLI (the load report, HF's key layout, and the result
/// accepted by fill-mask, export-onnx, finetune and evaluate).
/// </summary>
[Collection(SerialCollection.Name)]
[Trait(SerialCollection.TraitName, SerialCollection.TraitValue)]
public class MaskedLmPretrainingTests
{
    [Fact]
    public void Packed_data_is_the_corpus_in_single_segment_instances_of_the_full_length()
    {
        // Documents of 2 to 6 sentences, so that their ends do not all fall on a chunk boundary.
        var docs = Enumerable.Range(0, 24).Select(d =>
            string.Join(" ", Enumerable.Range(0, 2 + (d % 5)).Select(s => $"Document {d} sentence {s} tells about the movie number {(d * 7) + s} and its actors."))).ToList();
        var tok = new ToyTokenizer(docs);
        var vocab = new MaskingVocabulary(tok.Tokens);
        var documents = docs.Select(d => new[] { tok.Encode(d) }).ToList();
        var builder = new PretrainingDataBuilder(tok.Encode, tok.Tokens, "sha")
        {
            Options = new PretrainingOptions { MaxSeqLength = 32, MaxPredictionsPerSeq = 5, DupeFactor = 1, ShortSeqProb = 0, Seed = 3, Objective = PretrainingObjective.MaskedLm },
        };
        var instances = builder.CreateInstances(documents, [0, documents.Count]);

        var text = new List<int>();
        var separators = 0;
        foreach (var x in instances)
        {
            var ids = x.OriginalIds();
            Assert.Equal(x.Length, x.SegmentALength);
            Assert.False(x.IsRandomNext);
            Assert.True(x.Length <= 32);
            Assert.Equal(vocab.ClsId, ids[0]);
            Assert.Equal(vocab.SepId, ids[^1]);
            // google's count: min(max predictions, max(1, round(L · 0.15))), never at [CLS] / [SEP].
            Assert.Equal(Math.Min(5, Math.Max(1, (int)Math.Round(x.Length * 0.15, MidpointRounding.ToEven))), x.MaskedPositions.Length);
            Assert.All(x.MaskedPositions, p => Assert.NotEqual(vocab.SepId, ids[p]));
            Assert.All(x.MaskedPositions, p => Assert.NotEqual(vocab.ClsId, ids[p]));
            var inner = ids[1..^1];
            separators += inner.Count(t => t == vocab.SepId);
            text.AddRange(inner.Where(t => t != vocab.SepId));
        }
        // Every word piece of the corpus once (dupe factor 1), with at most one [SEP] per document boundary.
        Assert.Equal(documents.SelectMany(d => d[0]).Order(), text.Order());
        Assert.InRange(separators, 1, documents.Count - 1);
        // Packed: only the end of the stream, and chunks closed at a document boundary, fall short of the length.
        Assert.True(instances.Count(x => x.Length < 31) <= 1, string.Join(",", instances.Select(x => x.Length)));
    }

    [Fact]
    public void One_masked_lm_step_matches_hf_loss_and_a_hand_computed_adamw_update()
    {
        const string caseName = "masked-lm";
        const double lr = 1e-3, eps = 1e-6, weightDecay = 0.01;
        var refs = HfFixture.Tensors(caseName);
        using var model = BertPretrained.Load<BertForMaskedLM>(HfFixture.Dir(caseName));
        using var reference = BertPretrained.Load<BertForMaskedLM>(HfFixture.Dir(caseName));
        try
        {
            // The fixture's rows as pre-training instances (their real tokens; the labelled positions are the masked ones).
            var ids = refs["in.input_ids"].data<long>().ToArray();
            var mask = refs["in.attention_mask"].data<long>().ToArray();
            var labels = refs["in.labels"].data<long>().ToArray();
            var (rows, width) = ((int)refs["in.input_ids"].shape[0], (int)refs["in.input_ids"].shape[1]);
            Assert.All(refs["in.token_type_ids"].data<long>().ToArray(), t => Assert.Equal(0, t));
            var instances = Enumerable.Range(0, rows).Select(r =>
            {
                var length = (int)mask.Skip(r * width).Take(width).Sum();
                var positions = Enumerable.Range(0, width).Where(c => labels[(r * width) + c] != -100).ToArray();
                Assert.All(positions, p => Assert.True(p < length));
                return new PretrainingInstance([.. ids.Skip(r * width).Take(length).Select(x => (int)x)], length, false, positions,
                    [.. positions.Select(p => (int)labels[(r * width) + p])]);
            }).ToList();

            // Reference: HF's loss, and the gradient of the full-vocabulary head at every position (the parity-tested forward).
            reference.train();
            var expectedLoss = refs["out.loss"];
            var dense = reference.Forward(new BertInput(refs["in.input_ids"], refs["in.attention_mask"], refs["in.token_type_ids"]), refs["in.labels"]);
            HfFixture.AssertClose(expectedLoss, dense.Loss!.reshape(1), HfFixture.Atol(caseName, "reference.safetensors", "out.loss"), "dense loss");
            dense.Loss!.backward();
            var named = reference.NamedParameters().ToList();
            var norm = Math.Sqrt(named.Sum(p => p.Param.grad!.pow(StableScalars.Of(2L)).sum().item<float>()));
            var clip = Math.Min(1.0, 1.0 / (norm + 1e-6));
            // torch.optim.AdamW's first step, by hand: m̂ = g, v̂ = g², so p ← p·(1 − lr·wd) − lr · g / (|g| + eps); no decay on
            // biases and LayerNorm weights (HF's groups).
            var expected = named.ToDictionary(p => p.Name, p =>
            {
                using var g = p.Param.grad!.mul(StableScalars.Of(clip));
                var decay = p.Name.Contains("bias", StringComparison.Ordinal) || p.Name.Contains("LayerNorm.weight", StringComparison.Ordinal) ? 0 : weightDecay;
                return p.Param.detach().mul(StableScalars.Of(1 - (lr * decay))).sub(g.mul(StableScalars.Of(lr)).div(StableScalars.Add(g.abs(), StableScalars.Of(eps))));
            });

            // The run's step: the task (MLM head at the masked positions only) on the one trainer, warm-up 0 so step 1 has the peak rate.
            using var trainer = new Trainer(model, new OptimizerSettings(lr, eps, weightDecay, 1.0, 0, 10));
            var task = new PretrainingTask(model);
            var outcome = trainer.Step([() => PretrainingBatch.Collate(instances, 0, CPU)], task);

            HfFixture.AssertClose(expectedLoss, tensor(new[] { (float)outcome.Task.Loss }), 1e-5, "step loss");
            Assert.Equal(outcome.Task.Loss, outcome.Task.Metrics["masked_lm_loss"]);
            Assert.False(outcome.Task.Metrics.ContainsKey("next_sentence_loss"));
            Assert.Equal(norm, outcome.GradNorm, 1e-4 * norm);
            Assert.Equal(lr, outcome.LearningRate);
            var compared = 0;
            foreach (var (name, p) in model.NamedParameters())
            {
                HfFixture.AssertClose(expected[name], p, HfFixture.StepParameterAtol, $"after step 1: {name}");
                compared++;
            }
            Assert.Equal(42, compared);
            foreach (var t in expected.Values)
            {
                t.Dispose();
            }
        }
        finally
        {
            HfFixture.DisposeAll(refs);
        }
    }

    /// <summary>Text from the fixture's own vocabulary (few [UNK]), one document per line.</summary>
    private static string Corpus(TempDir tmp, string vocab)
    {
        var words = File.ReadAllLines(vocab).Skip(104).Where(w => w.All(char.IsAsciiLetterLower)).ToList();
        var rng = new Random(7);
        var lines = Enumerable.Range(0, 40).Select(_ =>
            string.Join(". ", Enumerable.Range(0, 4).Select(_ => string.Join(" ", Enumerable.Range(0, 8).Select(_ => words[rng.Next(words.Count)])))) + ".");
        File.WriteAllLines(tmp.File("corpus.txt"), lines);
        return tmp.File("corpus.txt");
    }

    private static List<string> SavedKeys(string file)
    {
        using var s = File.OpenRead(file);
        var len = new byte[8];
        s.ReadExactly(len);
        var header = new byte[BitConverter.ToInt64(len)];
        s.ReadExactly(header);
        return [.. JsonNode.Parse(header)!.AsObject().Select(kv => kv.Key).Where(k => k != "__metadata__").Order(StringComparer.Ordinal)];
    }

    [Theory]
    [Trait(SlowFirstOrderer.Category, SlowFirstOrderer.Slow)]
    [InlineData("mlm")]
    [InlineData("mlm+nsp")]
    public void Continuing_a_bert_model_checkpoint_reports_the_new_head_and_saves_hf_layout(string objective)
    {
        using var tmp = TestPaths.TempDir();
        var baseModel = HfFixture.Dir("base-model");
        var vocab = Path.Combine(baseModel, "vocab.txt");
        var data = CliRunner.Run("pretrain-data", "--input", Corpus(tmp, vocab), "--vocab", vocab, "--output", tmp.File("data"), "--objective", objective,
            "--max-length", "48", "--max-predictions-per-seq", "7", "--dupe-factor", "1", "--threads", "1");
        Assert.True(data.ExitCode == 0, data.StdErr);
        Assert.Contains(objective == "mlm" ? "one packed segment per instance" : "% random next", data.StdOut, StringComparison.Ordinal);

        var run = CliRunner.Run("pretrain", "--data", tmp.File("data"), "--model", baseModel, "--output", tmp.File("run"), "--objective", objective,
            "--steps", "2", "--batch-size", "4", "--device", "cpu", "--threads", "1");
        Assert.True(run.ExitCode == 0, run.StdErr);
        var mlm = objective == "mlm";
        string[] head = ["cls.predictions.bias", "cls.predictions.transform.LayerNorm.bias", "cls.predictions.transform.LayerNorm.weight",
            "cls.predictions.transform.dense.bias", "cls.predictions.transform.dense.weight"];
        string[] fresh = mlm ? head : [.. head, "cls.seq_relationship.bias", "cls.seq_relationship.weight"];
        Assert.Contains($"model: {baseModel} as {(mlm ? "BertForMaskedLM" : "BertForPreTraining")} — {fresh.Length} weight(s) newly initialised, " +
            $"not in the checkpoint ({string.Join(", ", fresh)}); the MLM decoder is tied to the word embeddings " +
            "(bert.embeddings.word_embeddings.weight, loaded), its bias is cls.predictions.bias", run.StdErr, StringComparison.Ordinal);
        Assert.Equal(mlm, !run.StdOut.Contains("next_sentence_loss", StringComparison.Ordinal));

        // Saved as HF saves that class: the keys of the HF fixture of the same architecture, tied decoder left out.
        var final = tmp.File("run/final");
        var hfCase = mlm ? "masked-lm" : "pretraining";
        var hfKeys = ((JsonArray)HfFixture.Case(hfCase)["checkpoint"]!["model.safetensors"]!["keys"]!).Select(k => (string)k!).Order(StringComparer.Ordinal);
        Assert.Equal(hfKeys, SavedKeys(Path.Combine(final, "model.safetensors")));
        Assert.Equal(mlm ? "BertForMaskedLM" : "BertForPreTraining", (string)JsonNode.Parse(File.ReadAllText(Path.Combine(final, "config.json")))!["architectures"]![0]!);
        if (!mlm)
        {
            return;
        }

        // The masked-LM model is what the other commands take.
        var fill = CliRunner.Run("fill-mask", "--model", final, "--text", "the [MASK] was good .", "--top-k", "2", "--device", "cpu");
        Assert.True(fill.ExitCode == 0, fill.StdErr);
        var onnx = CliRunner.Run("export-onnx", final, tmp.File("mlm.onnx"));
        Assert.True(onnx.ExitCode == 0, onnx.StdErr);
        var sst2 = Path.Combine(TestPaths.Fixtures, "data", "sst2_train.tsv");
        var ft = CliRunner.Run("finetune", "--task", "sst2", "--data", sst2, "--val-size", "0", "--model", final, "--output", tmp.File("ft"),
            "--epochs", "1", "--batch-size", "4", "--max-length", "24", "--device", "cpu");
        Assert.True(ft.ExitCode == 0, ft.StdErr);
        var eval = CliRunner.Run("evaluate", "--model", tmp.File("ft"), "--data", sst2, "--device", "cpu");
        Assert.True(eval.ExitCode == 0, eval.StdErr);

        // Sentence-pair training needs pair data.
        var wrong = CliRunner.Run("pretrain", "--data", tmp.File("data"), "--model", baseModel, "--output", tmp.File("run2"), "--objective", "mlm+nsp",
            "--steps", "1", "--device", "cpu");
        Assert.Equal(2, wrong.ExitCode);
        Assert.Contains("--objective mlm+nsp: ", wrong.StdErr, StringComparison.Ordinal);
        Assert.Contains("was built with --objective mlm", wrong.StdErr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(tmp.File("run2")));
    }
}
