using BertSharp.Modeling;
using BertSharp.Tests.Modeling;
using BertSharp.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BertSharp.Tests.Training;

/// <summary>
/// The training loop against HF Trainer's arithmetic (transformers' <c>_inner_training_loop</c>, <c>training_step</c>,
/// <c>get_linear_schedule_with_warmup</c>, <c>get_warmup_steps</c>), each expected value worked out by hand from HF's formula:
/// optimizer steps per epoch with a last partial accumulation group, that group's loss scaling, warmup from a ratio, the
/// learning rate a step uses and logs, and training mode restored at every step.
/// </summary>
public class TrainerHfParityTests
{
    /// <summary>Loss of micro-batch i = factor_i × sum(classifier.bias), so d loss / d bias = factor_i in every element.</summary>
    private sealed class BiasTask(BertPreTrainedModel model, Parameter bias) : ITrainingTask<double>
    {
        public List<MicroBatch> Seen { get; } = [];

        public List<bool> TrainingMode { get; } = [];

        public Tensor? Loss(double factor, MicroBatch micro)
        {
            Seen.Add(micro);
            TrainingMode.Add(model.training);
            using var k = factor.ToScalar();
            return bias.sum().mul(k);
        }

        public StepMetrics EndStep() => new(0, new Dictionary<string, double>());
    }

    [Fact]
    public void A_partial_group_is_scaled_by_its_own_micro_batches_and_the_lr_is_the_one_the_step_used()
    {
        using var model = BertPretrained.Create<BertForSequenceClassification>(HfTrainStepTests.TinyConfig());
        var bias = model.NamedParameters().Single(p => p.Name == "classifier.bias").Param;
        var task = new BiasTask(model, bias);
        // Clipping on with a limit never reached: the returned norm is that of the accumulated gradient, untouched.
        using var trainer = new Trainer(model, new OptimizerSettings(1e-3, 1e-8, 0.0, 1e9, WarmupSteps: 2, TotalSteps: 4));
        var before = bias.detach().clone();

        // A full group of 3 (factors 1, 2, 3) and an epoch's last group of 1 (factor 2). HF divides each micro-batch's loss by
        // current_gradient_accumulation_steps = len(batch_samples): bias gradient (1 + 2 + 3) / 3 = 2 and 2 / 1 = 2, norm
        // 2·√3 both times (dividing the lone batch by --grad-accum 3, as transformers before 4.46 did, gives 2·√3 / 3).
        double[][] steps = [[1, 2, 3], [2], [1, 2, 3], [2]];
        var outcomes = new List<StepOutcome>();
        foreach (var factors in steps)
        {
            // Validation leaves the model in eval mode; HF's training_step calls model.train() before every forward pass.
            model.eval();
            outcomes.Add(trainer.Step([.. factors.Select(f => (Func<double>)(() => f))], task));
            if (outcomes.Count == 1)
            {
                // HF's lr_lambda(0) = 0 / max(1, warmup): the first step moves nothing.
                Assert.True(before.equal(bias.detach()).all().item<bool>(), "the first step of a warm-up ran at a learning rate above 0");
            }
            Assert.All(trainer.Optimizer.ParamGroups, g => Assert.Equal(outcomes[^1].LearningRate, g.LearningRate, 15));
        }
        Assert.All(outcomes, o => Assert.Equal(2 * Math.Sqrt(3), o.GradNorm, 5));
        Assert.Equal([3, 1, 3, 1], task.Seen.Where(m => m.Index == 0).Select(m => m.Count));
        Assert.All(task.TrainingMode, Assert.True);
        Assert.False(before.equal(bias.detach()).all().item<bool>(), "the steps after the first changed nothing");
        // The learning rate logged is the one the step used (HF reads it after optimizer.step(), before lr_scheduler.step()):
        // lr_lambda(s) = s / 2 while s < 2, then (4 - s) / (4 - 2): 0, 0.5, 1, 0.5 of 1e-3; the last step's is not 0.
        Assert.Equal([0, 5e-4, 1e-3, 5e-4], outcomes.Select(o => Math.Round(o.LearningRate, 15)));
        Assert.Equal([1L, 2, 3, 4], outcomes.Select(o => o.Step));
    }

    [Fact]
    public void An_epoch_steps_on_its_last_partial_group_as_hf_does()
    {
        // 10 examples in batches of 3: 4 batches; --grad-accum 3: HF's num_update_steps_per_epoch = 4 // 3 + (4 % 3 > 0) = 2,
        // the second of them on the remainder of 1 batch; 2 epochs: max_steps = 4.
        var plan = new EpochPlan([.. Enumerable.Repeat(5, 10)], batchSize: 3, gradAccum: 3, bucketByLength: false, seed: 7);
        Assert.Equal((4, 2), (plan.BatchesPerEpoch, plan.StepsPerEpoch));
        // Asked in order, as the loop asks them.
        List<List<int[]>> groups = [.. Enumerable.Range(1, 4).Select(s => plan.BatchesOf(s).ToList())];
        Assert.Equal([3, 1, 3, 1], groups.Select(g => g.Count));
        Assert.Equal([false, true, false, true], Enumerable.Range(1, 4).Select(s => plan.IsEpochEnd(s)));
        Assert.Equal([1, 1, 2, 2], Enumerable.Range(1, 4).Select(s => plan.EpochOf(s)));
        // Each epoch's two steps hold every example once, the partial group the 10th.
        foreach (var first in new[] { 0, 2 })
        {
            Assert.Equal(Enumerable.Range(0, 10), groups[first].Concat(groups[first + 1]).SelectMany(b => b).Order());
            Assert.Single(Assert.Single(groups[first + 1]));
        }
    }

    [Theory]
    // HF get_warmup_steps: math.ceil(num_training_steps * warmup_ratio), in doubles: 100 * 0.07 is 7.000000000000001 (Python
    // prints it so), so 8 steps; 100 * 0.29 is 28.999999999999996, so 29.
    [InlineData(100, 0.07, 8)]
    [InlineData(100, 0.29, 29)]
    [InlineData(25, 0.1, 3)]
    [InlineData(4, 0.3, 2)]
    [InlineData(10, 0.1, 1)]
    [InlineData(10, 0.0, 0)]
    public void Warmup_from_a_ratio_is_hfs_ceiling(long totalSteps, double ratio, int expected)
    {
        var t = new TrainingOptions { DataPath = "train.tsv", OutputDir = "out", WarmupRatio = ratio };
        Assert.Equal(expected, t.WarmupFor(totalSteps));
    }

    [Fact]
    public void No_decay_groups_are_hfs_layer_norm_modules_and_biases_in_every_head()
    {
        // transformers' get_decay_parameter_names: no decay for every parameter of an nn.LayerNorm module (found by type, not
        // name) nor for a name holding "bias" or "layernorm" (lower-cased). BertSharp decides by name; the MLM head's
        // cls.predictions.transform.LayerNorm and each head's biases must land in the same group.
        static BertConfig Config(int labels)
        {
            var c = HfTrainStepTests.TinyConfig();
            c.NumLabels = labels;
            return c;
        }
        Func<BertPreTrainedModel>[] models =
        [
            () => BertPretrained.Create<BertForPreTraining>(Config(3)), () => BertPretrained.Create<BertForMaskedLM>(Config(3)),
            () => BertPretrained.Create<BertForSequenceClassification>(Config(3)), () => BertPretrained.Create<BertForTokenClassification>(Config(3)),
            () => BertPretrained.Create<BertForQuestionAnswering>(Config(2)), () => BertPretrained.Create<BertForMultipleChoice>(Config(1)),
        ];
        foreach (var create in models)
        {
            using var model = create();
            var layerNorms = model.named_modules().Where(m => m.module is LayerNorm)
                .SelectMany(m => m.module.parameters()).Select(p => p.Handle).ToHashSet();
            Assert.NotEmpty(layerNorms);
            var named = model.NamedParameters();
            var hf = named.Where(p => layerNorms.Contains(p.Param.Handle)
                || p.Name.Contains("bias", StringComparison.Ordinal) || p.Name.ToLowerInvariant().Contains("layernorm", StringComparison.Ordinal))
                .Select(p => p.Name).Order().ToList();
            var (_, noDecay) = AdamWFactory.Split(named, DecayRule.HuggingFace);
            Assert.Equal(hf, noDecay.Select(p => p.Name).Order());
            Assert.Equal(layerNorms.Count, named.Count(p => layerNorms.Contains(p.Param.Handle)));
        }
    }
}
