using BertSharp.Data;
using BertSharp.Modeling;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tokenization;
using BertSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Tests.Modeling;

/// <summary>The README / docs/api.md example, run end to end on a fixture checkpoint.</summary>
public class ApiExampleTests
{
    [Fact]
    public void Load_tokenize_run_read_outputs_save()
    {
        var dir = HfFixture.Dir("sequence-classification");

        // --- docs/api.md example begins ---
        var tokenizer = BertTokenizer.FromDirectory(dir);
        using var model = BertPretrained.Load<BertForSequenceClassification>(dir, out var report);
        if (report.Warning is { } warning)
        {
            Console.Error.WriteLine(warning);
        }
        model.eval();

        var batch = tokenizer.EncodeBatch([("Us love they.", null), ("a tender , heartfelt family drama . ", null)],
            new EncodeOptions { Padding = PaddingStrategy.Longest });
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var ids = torch.tensor(batch.SelectMany(e => e.Ids.Select(i => (long)i)).ToArray()).reshape(batch.Count, -1);
        var mask = torch.tensor(batch.SelectMany(e => e.AttentionMask.Select(i => (long)i)).ToArray()).reshape(batch.Count, -1);
        var output = model.Forward(new BertInput(ids, mask));
        var probs = output.Logits.softmax(-1);                      // [batch, num_labels]
        var best = probs.argmax(-1).data<long>().ToArray();         // class index per text
        var labels = best.Select(i => model.Config.Id2Label[(int)i]).ToArray();
        // --- docs/api.md example ends ---

        Assert.Equal(2, labels.Length);
        Assert.All(labels, l => Assert.StartsWith("LABEL_", l, StringComparison.Ordinal));
        Assert.True(probs.sum(-1).allclose(ones(2), atol: 1e-6));
        Assert.Equal(new long[] { 2, 64 }, output.Bert.PoolerOutput!.shape);

        // The same texts are rows 1 and 3 of the fixture batch: the logits equal HF's, padding to a different length included.
        var refs = HfFixture.Tensors("sequence-classification");
        try
        {
            HfFixture.AssertClose(refs["out.logits"][1], output.Logits[0], 1e-5, "logits row 1");
            HfFixture.AssertClose(refs["out.logits"][3], output.Logits[1], 1e-5, "logits row 3");
        }
        finally
        {
            HfFixture.DisposeAll(refs);
        }

        using var tmp = TestPaths.TempDir();
        BertPretrained.Save(model, tmp.Path, new SaveOptions(Tokenizer: tokenizer));
        Assert.Equal(tokenizer.Encode("Us love they.").Ids, BertTokenizer.FromDirectory(tmp.Path).Encode("Us love they.").Ids);
    }

    /// <summary>docs/api.md's Trainer example: a classifier trained through Trainer.Run on batches of its own making.</summary>
    [Fact]
    public void Trainer_example_trains_a_classifier_on_batches_it_collates()
    {
        var dir = HfFixture.Dir("sequence-classification");
        var tokenizer = BertTokenizer.FromDirectory(dir);
        using var model = BertPretrained.Load<BertForSequenceClassification>(dir, out _);
        TextExample[] texts = [new("a tender , heartfelt drama .", null, null, 1), new("dull and lifeless .", null, null, 2),
            new("a warm , witty film .", null, null, 3), new("the plot is a mess .", null, null, 4)];
        float[] targets = [1, 0, 1, 0];
        var losses = new List<double>();

        // --- docs/api.md example begins ---
        var examples = ExampleEncoder.Encode(tokenizer, texts, targets, maxLength: 128);   // [CLS] text [SEP] ids, one target each
        using var trainer = new Trainer(model, new OptimizerSettings(LearningRate: 1e-3, Eps: 1e-8, WeightDecay: 0.01, MaxGradNorm: 1.0,
            WarmupSteps: 0, TotalSteps: 12));
        var task = new ClassificationTask(model);                        // a TensorBatch → the classifier's loss
        var data = new Batches(task, examples, batchSize: 4, tokenizer.PadId);
        trainer.Run(task, data, totalSteps: 12,
        [
            TrainingHook.Every(1, 12, o => losses.Add(o.Task.Loss)),
        ]);
        // --- docs/api.md example ends ---

        Assert.Equal(12, losses.Count);
        Assert.True(losses[^1] < losses[0] / 2, $"loss {losses[0]:F4} → {losses[^1]:F4}");

        // The batch holds the examples asked for, padded to the longest, with their targets as class ids.
        using var batch = task.Collate(examples, [2, 1], tokenizer.PadId);
        Assert.Equal(new long[] { 2, examples[2].Length }, batch.InputIds.shape);
        Assert.Equal(examples[2].InputIds.Select(i => (long)i), batch.InputIds[0].data<long>().ToArray());
        Assert.Equal(new long[] { 1, 0 }, batch.Labels!.data<long>().ToArray());
        Assert.Equal(examples[1].Length, (int)batch.AttentionMask[1].sum().item<long>());
        // Indices are refused as every other collator refuses them (Batching.Picked): it had its own wording and exception.
        Assert.Equal("index 1 of indices is 4; expected an index into examples, [0, 4). (Parameter 'indices')",
            Assert.Throws<ArgumentException>("indices", () => task.Collate(examples, [0, 4], tokenizer.PadId)).Message);
        Assert.StartsWith("indices is empty; expected", Assert.Throws<ArgumentException>("indices", () => task.Collate(examples, [], tokenizer.PadId)).Message, StringComparison.Ordinal);
        var unlabelled = ExampleEncoder.Encode(tokenizer, texts, null, maxLength: 128);
        Assert.Contains("examples[0]", Assert.Throws<ArgumentException>(() => task.Collate(unlabelled, [0], tokenizer.PadId)).Message, StringComparison.Ordinal);
    }

    /// <summary>docs/api.md's ITrainingData: one micro-batch per step, the examples taken in turn.</summary>
    private sealed class Batches(ClassificationTask task, EncodedExample[] examples, int batchSize, int padId) : ITrainingData<TensorBatch>
    {
        public IReadOnlyList<Func<TensorBatch>> MicroBatches(long step) =>
            [() => task.Collate(examples, [.. Enumerable.Range(0, batchSize).Select(i => (int)(((step - 1) * batchSize + i) % examples.Length))], padId)];
    }
}
