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
