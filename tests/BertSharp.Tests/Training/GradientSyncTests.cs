using BertSharp.Data;
using BertSharp.Distributed;
using BertSharp.Modeling;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;
using BertSharp.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BertSharp.Tests.Training;

/// <summary>
/// The trainer's gradient hook (where a data-parallel all-reduce plugs in): called once per optimizer step, after the backward
/// pass of the last micro-batch (every gradient present and accumulated) and before clipping.
/// </summary>
[Collection(SerialCollection.Name)]
[Trait(SerialCollection.TraitName, SerialCollection.TraitValue)]
public class GradientSyncTests
{
    /// <summary>Multiplies every gradient by a factor and records what it saw.</summary>
    private sealed class Scaling(double factor) : IGradientSync
    {
        public int Calls { get; private set; }

        public bool AllGradientsPresent { get; private set; } = true;

        public void Synchronize(IReadOnlyList<Parameter> parameters)
        {
            Calls++;
            using var noGrad = torch.no_grad();
            foreach (var p in parameters)
            {
                AllGradientsPresent &= p.grad is not null;
                p.grad?.mul_(StableScalars.Of(factor));
            }
        }
    }

    private static TensorBatch Batch()
    {
        var refs = HfFixture.Tensors("sequence-classification");
        try
        {
            var ids = refs["in.input_ids"];
            var mask = refs["in.attention_mask"];
            var types = refs["in.token_type_ids"];
            var labels = refs["in.labels"].data<long>().ToArray();
            var examples = Enumerable.Range(0, (int)ids.shape[0]).Select(r =>
            {
                var len = (int)mask[r].sum().item<long>();
                return new EncodedExample([.. ids[r].data<long>().ToArray().Take(len).Select(x => (int)x)],
                    [.. types[r].data<long>().ToArray().Take(len).Select(x => (int)x)], labels[r]);
            }).ToArray();
            return Batching.Collate(examples, [.. Enumerable.Range(0, examples.Length)], padId: 0, regression: false, withLabels: true);
        }
        finally
        {
            HfFixture.DisposeAll(refs);
        }
    }

    private static (List<double> Norms, Dictionary<string, Tensor> Weights) Train(IGradientSync sync) => Train(_ => sync);

    private static (List<double> Norms, Dictionary<string, Tensor> Weights) Train(Func<BertPreTrainedModel, IGradientSync> makeSync) =>
        Train((model, settings) => new Trainer(model, settings, makeSync(model)));

    private static (List<double> Norms, Dictionary<string, Tensor> Weights) Train(Func<BertPreTrainedModel, OptimizerSettings, Trainer> makeTrainer)
    {
        // The fixture model has no dropout, so two runs differ only by what the hook does.
        using var model = BertPretrained.Load<BertForSequenceClassification>(HfFixture.Dir("sequence-classification"));
        using var batch = Batch();
        using var trainer = makeTrainer(model, new OptimizerSettings(1e-3, 1e-6, 0.01, MaxGradNorm: 1e9, WarmupSteps: 0, TotalSteps: 2));
        var task = new ClassificationTask(model);
        var norms = new List<double>();
        for (var s = 0; s < 2; s++)
        {
            // Two micro-batches per step: the hook must see their accumulated gradients, once.
            norms.Add(trainer.Step([() => batch, () => batch], task).GradNorm);
        }
        return (norms, model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone()));
    }

    [Fact]
    public void The_hook_runs_once_per_step_with_all_gradients_before_clipping()
    {
        var (plain, plainWeights) = Train(NoGradientSync.Instance);
        var scaling = new Scaling(4.0);
        var (scaled, _) = Train(scaling);
        Assert.Equal(2, scaling.Calls);
        Assert.True(scaling.AllGradientsPresent);
        // The norm the trainer clips with (and reports) is the synchronised gradients' one.
        Assert.Equal(4 * plain[0], scaled[0], 1e-9);

        // Data-parallel averaging over one rank is the identity: the same weights, bit for bit.
        DataParallel? dp = null;
        var (_, dpWeights) = Train(m => new DataParallelGradientSync(dp = new DataParallel(new LocalCommunicator(), m.NamedParameters())));
        dp!.Dispose();
        // So is the trainer of a one-rank group (the fine-tuners' and pre-training's).
        var (_, rankWeights) = Train((m, settings) => Trainer.ForRanks(m, settings, new LocalCommunicator()));
        foreach (var (name, w) in plainWeights)
        {
            Assert.True(w.eq(dpWeights[name]).all().item<bool>(), name);
            Assert.True(w.eq(rankWeights[name]).all().item<bool>(), name);
        }
        foreach (var t in plainWeights.Values.Concat(dpWeights.Values).Concat(rankWeights.Values))
        {
            t.Dispose();
        }
    }
}
