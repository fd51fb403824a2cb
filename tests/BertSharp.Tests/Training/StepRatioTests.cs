using BertSharp.Training;

namespace BertSharp.Tests.Training;

/// <summary>
/// HF's ratio form of eval_steps and save_steps: a value below 1 is a share of the run's optimizer steps, resolved as
/// <c>TrainerState.compute_steps</c> does, <c>math.ceil(max_steps * ratio)</c> in Python floats. The resolutions are worked
/// out by hand here (Python gives 100 * 0.07 = 7.000000000000001, so its ceil is 8; 10 * 0.3 is 3.0 exactly).
/// </summary>
public class StepRatioTests
{
    private static TrainingOptions Shared(double? evalSteps, double saveSteps = 0) =>
        new() { DataPath = "train.tsv", OutputDir = "o", ConfigPreset = "tiny", VocabPath = "vocab.txt", EvalSteps = evalSteps, SaveSteps = saveSteps };

    [Theory]
    [InlineData(0.3, 10, 3)]
    [InlineData(0.07, 100, 8)]
    [InlineData(0.25, 10, 3)]
    [InlineData(0.1, 10, 1)]
    [InlineData(0.05, 10, 1)]
    [InlineData(0.5, 15, 8)]
    [InlineData(0.1, 1000, 100)]
    [InlineData(7, 10, 7)]
    [InlineData(1, 10, 1)]
    public void A_ratio_resolves_to_the_ceiling_of_its_share_of_the_runs_steps_and_whole_steps_stay(double given, long totalSteps, double steps)
    {
        var resolved = Shared(given, given).StepsResolvedFor(totalSteps);
        Assert.Equal((steps, steps), (resolved.EvalSteps!.Value, resolved.SaveSteps));
    }

    [Fact]
    public void Training_args_record_the_saving_steps_a_ratio_resolved_to_as_hf_records_save_steps()
    {
        // 0.4 of 10 steps: 4 (HF's TrainingArguments records save_steps; a run without it records 0).
        var args = TrainingArgs.Of("sst2", Shared(0.2, 0.4).StepsResolvedFor(10), 2, 4, 16, 0, 10, []);
        Assert.Equal((4L, 2L), ((long)args["save_steps"]!, (long)args["eval_steps"]!));
        Assert.Equal(0L, (long)TrainingArgs.Of("sst2", Shared(null).StepsResolvedFor(10), 2, 4, 16, 0, 10, [])["save_steps"]!);
    }

    [Fact]
    public void No_eval_steps_and_no_save_steps_stay_so()
    {
        var resolved = Shared(null).StepsResolvedFor(10);
        Assert.Equal((null, 0.0), (resolved.EvalSteps, resolved.SaveSteps));
    }

    [Fact]
    public void Saving_steps_must_be_a_multiple_of_the_evaluation_steps_they_resolve_to()
    {
        // 0.2 and 0.4 of 10 steps: 2 and 4; 0.3 and 0.5: 3 and 5, whose ratios HF's own check (0.5 % 0.3 after scaling) refuses too.
        Assert.Equal((2.0, 4.0), Shared(0.2, 0.4).StepsResolvedFor(10) is var r ? (r.EvalSteps!.Value, r.SaveSteps) : default);
        var e = Assert.Throws<BertSharpException>(() => Shared(0.3, 0.5).StepsResolvedFor(10));
        Assert.Equal("--save-steps 0.5 (5 steps) and --eval-steps 0.3 (3 steps): the saving steps must be a multiple of the evaluation steps, but found 5, which is not a multiple of 3.",
            Cli.CliErrors.Describe(e));
        // A ratio beside whole steps is checked on what it resolves to: 0.4 of 10 is 4, a multiple of 2.
        Assert.Equal(4.0, Shared(2, 0.4).StepsResolvedFor(10).SaveSteps);
        Assert.Equal("--save-steps 0.5 (5 steps) and --eval-steps 2: the saving steps must be a multiple of the evaluation steps, but found 5, which is not a multiple of 2.",
            Cli.CliErrors.Describe(Assert.Throws<BertSharpException>(() => Shared(2, 0.5).StepsResolvedFor(10))));
    }

    [Theory]
    [InlineData(0.0, "--eval-steps 0: expected a whole number of optimizer steps ≥ 1 or a ratio of the run's steps in (0, 1).")]
    [InlineData(-2.0, "--eval-steps -2: expected a whole number of optimizer steps ≥ 1 or a ratio of the run's steps in (0, 1).")]
    [InlineData(1.5, "--eval-steps 1.5: expected a whole number of optimizer steps ≥ 1 or a ratio of the run's steps in (0, 1).")]
    [InlineData(double.NaN, "--eval-steps NaN: expected a whole number of optimizer steps ≥ 1 or a ratio of the run's steps in (0, 1).")]
    public void Eval_steps_that_are_neither_whole_steps_nor_a_ratio_are_refused_naming_the_flag(double evalSteps, string message) =>
        Assert.Equal(message, Cli.CliErrors.Describe(Assert.Throws<BertSharpException>(Shared(evalSteps).Validate)));

    [Theory]
    [InlineData(-1.0, "--save-steps -1: expected a whole number of optimizer steps ≥ 1, a ratio of the run's steps in (0, 1), or 0 (a checkpoint only where the run validates).")]
    [InlineData(1.5, "--save-steps 1.5: expected a whole number of optimizer steps ≥ 1, a ratio of the run's steps in (0, 1), or 0 (a checkpoint only where the run validates).")]
    [InlineData(double.PositiveInfinity, "--save-steps Infinity: expected a whole number of optimizer steps ≥ 1, a ratio of the run's steps in (0, 1), or 0 (a checkpoint only where the run validates).")]
    public void Save_steps_that_are_neither_whole_steps_a_ratio_nor_zero_are_refused_naming_the_flag(double saveSteps, string message) =>
        Assert.Equal(message, Cli.CliErrors.Describe(Assert.Throws<BertSharpException>(Shared(null, saveSteps).Validate)));
}
