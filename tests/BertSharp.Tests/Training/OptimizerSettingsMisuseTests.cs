using BertSharp.Modeling;
using BertSharp.Tests.Modeling;
using BertSharp.Training;

namespace BertSharp.Tests.Training;

/// <summary>
/// Library callers of <see cref="Trainer"/>, <see cref="AdamWFactory"/> and <see cref="LearningRateSchedule"/> skip the
/// options' Validate, so a negative learning rate reached TorchSharp ("Invalid learning rate: -1", naming no field, NaN let
/// through) and a run of 0 steps was built silently: both are refused naming the field.
/// </summary>
public sealed class OptimizerSettingsMisuseTests
{
    [Theory]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    public void A_negative_or_nan_learning_rate_is_refused_naming_learning_rate_and_zero_stays_torchs(double lr)
    {
        using var model = BertPretrained.Create<BertForSequenceClassification>(HfTrainStepTests.TinyConfig());
        var expected = FormattableString.Invariant($"learning_rate {lr}: expected a number ≥ 0.");
        Assert.Equal(expected, Assert.Throws<BertSharpException>(() => new Trainer(model, new OptimizerSettings(lr, 1e-8, 0.0, 1.0, 0, 10))).Message);
        Assert.Equal(expected, Assert.Throws<BertSharpException>(() => AdamWFactory.Create(model, new AdamWOptions(lr))).Message);
        // torch.optim.AdamW takes lr 0 (a run that only measures): so does the trainer, and its schedule stays at 0.
        using var frozen = new Trainer(model, new OptimizerSettings(0.0, 1e-8, 0.0, 1.0, 0, 10));
        Assert.Equal(0.0, frozen.Schedule.LearningRate(5));
    }

    [Theory]
    [InlineData(-0.1, 0.999, 1e-8, "adam_beta1 -0.1: expected a number in [0, 1).")]
    [InlineData(1.0, 0.999, 1e-8, "adam_beta1 1: expected a number in [0, 1).")]
    [InlineData(double.NaN, 0.999, 1e-8, "adam_beta1 NaN: expected a number in [0, 1).")]
    [InlineData(0.9, -0.5, 1e-8, "adam_beta2 -0.5: expected a number in [0, 1).")]
    [InlineData(0.9, 1.0, 1e-8, "adam_beta2 1: expected a number in [0, 1).")]
    [InlineData(0.9, double.NaN, 1e-8, "adam_beta2 NaN: expected a number in [0, 1).")]
    [InlineData(0.9, 0.999, -1e-8, "adam_epsilon -1E-08: expected a number ≥ 0.")]
    [InlineData(0.9, 0.999, double.NaN, "adam_epsilon NaN: expected a number ≥ 0.")]
    public void A_beta_outside_0_1_or_a_negative_or_nan_eps_is_refused_by_its_hf_name(double beta1, double beta2, double eps, string expected)
    {
        using var model = BertPretrained.Create<BertForSequenceClassification>(HfTrainStepTests.TinyConfig());
        foreach (var legacy in new[] { false, true })
        {
            var options = new AdamWOptions(1e-3, beta1, beta2, eps, LegacyHf: legacy);
            Assert.Equal(expected, Assert.Throws<BertSharpException>(() => AdamWFactory.Create(model, options)).Message);
        }
    }

    [Theory]
    [InlineData(-0.01, "weight_decay -0.01: expected a number ≥ 0.")]
    [InlineData(double.NaN, "weight_decay NaN: expected a number ≥ 0.")]
    public void A_negative_or_nan_weight_decay_is_refused_by_its_hf_name(double weightDecay, string expected)
    {
        using var model = BertPretrained.Create<BertForSequenceClassification>(HfTrainStepTests.TinyConfig());
        foreach (var legacy in new[] { false, true })
        {
            var options = new AdamWOptions(1e-3, WeightDecay: weightDecay, LegacyHf: legacy);
            Assert.Equal(expected, Assert.Throws<BertSharpException>(() => AdamWFactory.Create(model, options)).Message);
        }
    }

    [Fact]
    public void Torchs_lower_bounds_of_the_betas_and_eps_are_allowed()
    {
        using var model = BertPretrained.Create<BertForSequenceClassification>(HfTrainStepTests.TinyConfig());
        // torch.optim.AdamW takes betas (0, 0) and eps 0 (0 ≤ beta < 1, 0 ≤ eps): refusing them would be stricter than HF.
        using var optimizer = AdamWFactory.Create(model, new AdamWOptions(1e-3, 0.0, 0.0, 0.0));
        Assert.NotNull(optimizer);
    }

    [Fact]
    public void A_run_of_no_steps_and_a_negative_warmup_are_refused_naming_the_field()
    {
        Assert.Equal("total_steps 0: expected at least 1 optimizer step.",
            Assert.Throws<BertSharpException>(() => new LearningRateSchedule(1e-3, 0, 0)).Message);
        Assert.Equal("warmup_steps -1: expected a number ≥ 0.",
            Assert.Throws<BertSharpException>(() => new LearningRateSchedule(1e-3, -1, 10)).Message);
        using var model = BertPretrained.Create<BertForSequenceClassification>(HfTrainStepTests.TinyConfig());
        Assert.Equal("total_steps 0: expected at least 1 optimizer step.",
            Assert.Throws<BertSharpException>(() => new Trainer(model, new OptimizerSettings(1e-3, 1e-8, 0.0, 1.0, 0, TotalSteps: 0))).Message);
        // One step is the shortest run: linear decay from the peak at step 0 to 0 at step 1, as HF's lr_lambda.
        var one = new LearningRateSchedule(1e-3, 0, 1);
        Assert.Equal([1.0, 0.0], new[] { one.Factor(0), one.Factor(1) });
    }
}
