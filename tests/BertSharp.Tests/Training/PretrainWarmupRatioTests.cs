using BertSharp.Tests.Infrastructure;
using BertSharp.Training;
using BertSharp.Training.Pretraining;

namespace BertSharp.Tests.Training;

/// <summary>
/// <c>bert pretrain --warmup-ratio</c> (<see cref="PretrainingTrainerOptions.WarmupRatio"/>): HF's
/// <c>math.ceil(max_steps * warmup_ratio)</c> warm-up steps, as fine-tuning resolves its ratio, recorded with the steps it
/// gave, named in the model card, kept by a resume, and refused with <c>--warmup-steps</c>.
/// </summary>
[Collection(SerialCollection.Name)]
[Trait(SerialCollection.TraitName, SerialCollection.TraitValue)]
public class PretrainWarmupRatioTests
{
    [Theory]
    // Python: math.ceil(10 * 0.25) == 3; math.ceil(100 * 0.07) == 8 (100 * 0.07 is 7.000000000000001 in doubles) and
    // math.ceil(100 * 0.57) == 57 (56.99999999999999); 0 → 0.
    [InlineData(10, 0.25, 3)]
    [InlineData(100, 0.07, 8)]
    [InlineData(100, 0.57, 57)]
    [InlineData(7, 0.0, 0)]
    [InlineData(1000, 0.06, 60)]
    public void A_ratio_gives_hfs_ceiled_steps_in_pretraining_and_fine_tuning_alike(long steps, double ratio, long expected)
    {
        Assert.Equal(expected, new PretrainingTrainerOptions { Steps = steps, WarmupRatio = ratio }.EffectiveWarmupSteps);
        Assert.Equal(expected, new TrainingOptions { DataPath = "d", OutputDir = "o", WarmupRatio = ratio }.WarmupFor(steps));
        // Without either option pre-training keeps its 10 % of the steps.
        Assert.Equal(steps / 10, new PretrainingTrainerOptions { Steps = steps }.EffectiveWarmupSteps);
    }

    [Theory]
    [InlineData(2L, 0.1, "--warmup-ratio and --warmup-steps: give one or the other.")]
    [InlineData(null, 1.0, "--warmup-ratio 1: expected a fraction in [0, 1).")]
    [InlineData(null, -0.5, "--warmup-ratio -0.5: expected a fraction in [0, 1).")]
    public void Both_warmups_or_a_ratio_outside_0_to_1_are_refused(long? warmupSteps, double ratio, string expected)
    {
        var e = Assert.Throws<BertSharpException>(new PretrainingTrainerOptions { Steps = 10, WarmupSteps = warmupSteps, WarmupRatio = ratio }.Validate);
        Assert.EndsWith(expected, Cli.CliErrors.Describe(e), StringComparison.Ordinal);
    }

    [Fact]
    public void A_ratio_run_warms_up_for_its_steps_records_the_ratio_and_resumes_with_it()
    {
        using var tmp = TestPaths.TempDir();
        var (data, vocab) = PretrainingTrainerTests.SmallData(tmp, dupe: 1);
        var source = new PretrainingModelSource("tiny", vocab);
        var o = new PretrainingTrainerOptions { Steps = 10, BatchSize = 2, LearningRate = 1e-3, Seed = 5, Device = "cpu" };
        new PretrainingTrainer(o with { WarmupSteps = 3 }).Run(data, tmp.File("steps"), source, resume: false);
        new PretrainingTrainer(o with { WarmupRatio = 0.25 }) { StopAfter = 3 }.Run(data, tmp.File("ratio"), source, resume: false);
        var state = TrainerState.Load(tmp.File("ratio/checkpoint-3/trainer_state.json"));
        Assert.Equal((3L, 0.25), ((long)state.Settings["warmup_steps"]!, (double)state.Settings["warmup_ratio"]!));
        // The resume takes the run's settings: the steps the ratio gave (the CLI's --resume without a warm-up option).
        var saved = PretrainingTrainer.SavedRun(tmp.File("ratio"))!.Value.Options;
        Assert.Equal((3L, (double?)null), (saved.WarmupSteps, saved.WarmupRatio));
        new PretrainingTrainer(saved).Run(data, tmp.File("ratio"), new PretrainingModelSource(), resume: true);
        static IEnumerable<(long, double)> Rates(string dir) =>
            PretrainingLogEntry.Read(Path.Combine(dir, "train_log.jsonl")).Where(e => e.Type == "train").Select(e => (e.Step, e.LearningRate));
        Assert.Equal(Rates(tmp.File("steps")), Rates(tmp.File("ratio")));
        // As HF's card: the ratio when one was given (kept over the resume), the steps otherwise.
        Assert.Contains("\n- lr_scheduler_warmup_ratio: 0.25\n", File.ReadAllText(tmp.File("ratio/final/README.md")), StringComparison.Ordinal);
        Assert.Contains("\n- lr_scheduler_warmup_steps: 3\n", File.ReadAllText(tmp.File("steps/final/README.md")), StringComparison.Ordinal);
        // Another ratio on resume gives other steps: refused, as another --warmup-steps is.
        new PretrainingTrainer(o with { WarmupRatio = 0.25 }) { StopAfter = 1 }.Run(data, tmp.File("other"), source, resume: false);
        var e = Assert.Throws<BertSharpException>(() => new PretrainingTrainer(o with { WarmupRatio = 0.5 }).Run(data, tmp.File("other"), new PretrainingModelSource(), resume: true));
        Assert.Contains("warmup_steps", e.Message, StringComparison.Ordinal);
    }
}
