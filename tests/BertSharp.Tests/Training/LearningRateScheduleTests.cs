using System.Text.Json.Nodes;
using BertSharp.Tests.Infrastructure;
using BertSharp.Training;

namespace BertSharp.Tests.Training;

/// <summary>
/// HF's get_scheduler schedules (<see cref="LearningRateSchedule"/>): each one's factor at chosen steps against the value
/// HF's lr_lambda gives there (the Python expression and its result beside each), and the kwargs the schedule's HF function
/// refuses, refused in one line naming the key and the schedule, by the library and by both training commands.
/// </summary>
public class LearningRateScheduleTests
{
    // Every schedule below: 10 warm-up steps of a 100-step run at base rate 1e-3 (lr_init of polynomial and cosine_with_min_lr).
    private const long W = 10, T = 100;
    private const double Lr = 1e-3;

    private static void AssertFactors(string type, string? kwargs, params (long Step, double Factor)[] expected)
    {
        var schedule = new LearningRateSchedule(Lr, W, T, type, kwargs is null ? null : JsonNode.Parse(kwargs)!.AsObject());
        foreach (var (step, factor) in expected)
        {
            var got = schedule.Factor(step);
            Assert.True(Math.Abs(got - factor) <= 1e-15, $"{type} {kwargs} step {step}: {got:R}, HF {factor:R}");
            Assert.Equal(Lr * factor, schedule.LearningRate(step), 1e-18);
        }
    }

    [Fact]
    public void Linear_rises_over_the_warmup_then_falls_to_zero()
    {
        // s / max(1, 10) below 10; max(0.0, (100 - s) / max(1, 100 - 10)) after: 5 -> 0.5, 55 -> 45 / 90 = 0.5, 100 and 120 -> 0.
        AssertFactors("linear", null, (0, 0.0), (5, 0.5), (55, 0.5), (100, 0.0), (120, 0.0));
    }

    [Fact]
    public void Cosine_follows_half_a_cosine_and_num_cycles_scales_it()
    {
        // progress = (s - 10) / 90; max(0.0, 0.5 * (1.0 + math.cos(math.pi * 0.5 * 2.0 * progress))):
        // 40 -> progress 1/3 -> 0.5 * (1 + cos(pi/3)) = 0.75; 55 -> 0.5 * (1 + cos(pi/2)) = 0.5; 100 -> 0.5 * (1 + cos(pi)) = 0.
        AssertFactors("cosine", null, (5, 0.5), (40, 0.75), (55, 0.5), (100, 0.0));
        // num_cycles 2: 40 -> 0.5 * (1 + cos(pi * 2 * 2 / 3)) = 0.24999999999999978; 55 -> 0.5 * (1 + cos(2 pi)) = 1.0.
        AssertFactors("cosine", """{"num_cycles": 2}""", (40, 0.24999999999999978), (55, 1.0));
    }

    [Fact]
    public void Cosine_with_restarts_starts_over_each_cycle_and_ends_at_zero()
    {
        // 0.0 once progress >= 1.0, else max(0.0, 0.5 * (1.0 + math.cos(math.pi * ((num_cycles * progress) % 1.0)))):
        // num_cycles 1: 40 -> 0.5 * (1 + cos(pi/3)) = 0.75, 55 -> 0.5, 100 -> 0.0.
        AssertFactors("cosine_with_restarts", null, (40, 0.75), (55, 0.5), (100, 0.0));
        // num_cycles 2: 40 -> (2/3 % 1) -> 0.5 * (1 + cos(2 pi/3)) = 0.2500000000000001; 55 -> (1.0 % 1) = 0 -> 1.0 (the restart);
        // 99 -> progress 89/90, 178/90 % 1 = 0.9777... -> 0.0012179748700878457.
        AssertFactors("cosine_with_restarts", """{"num_cycles": 2}""", (40, 0.2500000000000001), (55, 1.0), (99, 0.0012179748700878457));
    }

    [Fact]
    public void Polynomial_decays_to_lr_end_relative_to_the_base_rate()
    {
        // lr_end 1e-7, power 1: ((1e-3 - 1e-7) * (1 - (s - 10) / 90) ** 1.0 + 1e-7) / 1e-3:
        // 55 -> (0.0009999 * 0.5 + 1e-7) / 1e-3 = 0.5000499999999999; 100 and 150 (past the run) -> 1e-7 / 1e-3 = 9.999999999999999e-05.
        AssertFactors("polynomial", null, (5, 0.5), (55, 0.5000499999999999), (100, 9.999999999999999e-05), (150, 9.999999999999999e-05));
        // lr_end 1e-4, power 2: 55 -> (9e-4 * 0.25 + 1e-4) / 1e-3 = 0.32499999999999996; 150 -> 1e-4 / 1e-3 = 0.1.
        AssertFactors("polynomial", """{"lr_end": 1e-4, "power": 2.0}""", (55, 0.32499999999999996), (150, 0.1));
    }

    [Fact]
    public void Constant_ignores_the_warmup_and_constant_with_warmup_keeps_it()
    {
        // get_scheduler gives constant neither the warm-up nor the run: 1 at every step.
        AssertFactors("constant", null, (0, 1.0), (5, 1.0), (150, 1.0));
        // s / max(1.0, 10) below 10, then 1.0.
        AssertFactors("constant_with_warmup", null, (0, 0.0), (5, 0.5), (10, 1.0), (150, 1.0));
    }

    [Fact]
    public void Inverse_sqrt_decays_from_the_warmup_on_its_default_timescale()
    {
        // timescale = num_warmup_steps or 10_000 = 10, shift 0: 1.0 / math.sqrt((40 + 0) / 10) = 0.5.
        AssertFactors("inverse_sqrt", null, (5, 0.5), (10, 1.0), (40, 0.5));
        // No warm-up: timescale 10_000, shift 10_000: 0 -> 1.0, 30_000 -> 1.0 / math.sqrt(40_000 / 10_000) = 0.5.
        var noWarmup = new LearningRateSchedule(Lr, 0, T, "inverse_sqrt");
        Assert.Equal((1.0, 0.5), (noWarmup.Factor(0), noWarmup.Factor(30_000)));
    }

    [Fact]
    public void Cosine_with_min_lr_ends_at_min_lr_given_as_a_rate_or_a_rate_of_the_base()
    {
        // factor * (1 - 0.1) + 0.1: 40 -> 0.75 * 0.9 + 0.1 = 0.775, 55 -> 0.5 * 0.9 + 0.1 = 0.55, 100 -> 0.1.
        AssertFactors("cosine_with_min_lr", """{"min_lr_rate": 0.1}""", (40, 0.775), (55, 0.55), (100, 0.1));
        // min_lr 1e-4 is min_lr_rate 1e-4 / 1e-3 = 0.1.
        AssertFactors("cosine_with_min_lr", """{"min_lr": 1e-4}""", (40, 0.775), (100, 0.1));
    }

    [Fact]
    public void Cosine_warmup_with_min_lr_warms_up_from_the_first_step_and_decays_one_step_ahead_to_min_lr()
    {
        // _get_cosine_with_min_lr_schedule_with_warmup_lr_rate_lambda: (s + 1.0) / max(1.0, 10) below 10, so 0 -> 0.1 and
        // 9 -> 1.0 (cosine_with_min_lr gives 0.0 and 0.9 there); then progress = (s - 10 + 1.0) / max(1.0, 90) and
        // 0.5 * (1.0 + math.cos(math.pi * 0.5 * 2.0 * progress)) * (1 - 0.1) + 0.1: 10 -> progress 1/90 -> 0.9997258721585931,
        // 39 -> 1/3 -> 0.75 * 0.9 + 0.1 = 0.775, 54 -> 0.5 -> 0.55, 99 -> 1 -> 0.1; 120 -> progress 111/90, on up the cosine.
        AssertFactors("cosine_warmup_with_min_lr", """{"min_lr_rate": 0.1}""",
            (0, 0.1), (5, 0.6), (9, 1.0), (10, 0.9997258721585931), (39, 0.775), (54, 0.55), (99, 0.1), (120, 0.21558482853517258));
        // min_lr 1e-4 is min_lr_rate 1e-4 / 1e-3 = 0.1; num_cycles 2: 39 -> 0.5 * (1 + cos(4 pi / 3)) * 0.9 + 0.1 = 0.32499999999999984.
        AssertFactors("cosine_warmup_with_min_lr", """{"min_lr": 1e-4, "num_cycles": 2}""", (39, 0.32499999999999984), (54, 1.0));
        // warmup_lr_rate 0.2: 0.2 + (1.0 - 0.2) * s / max(1, 10 - 1): 0 -> 0.2, 5 -> 0.2 + 0.8 * 5 / 9 = 0.6444444444444444, 9 -> 1.0.
        AssertFactors("cosine_warmup_with_min_lr", """{"min_lr_rate": 0.1, "warmup_lr_rate": 0.2}""", (0, 0.2), (5, 0.6444444444444444), (9, 1.0), (39, 0.775));
    }

    [Fact]
    public void Reduce_lr_on_plateau_cuts_the_rate_after_patience_bad_validations_as_torch_does()
    {
        // get_scheduler returns ReduceLROnPlateau before it reads the warm-up: the base rate from step 0, whatever the step.
        var schedule = new LearningRateSchedule(Lr, W, T, "reduce_lr_on_plateau", JsonNode.Parse("""{"patience": 1, "factor": 0.5, "cooldown": 1, "min_lr": 2e-4}""")!.AsObject());
        Assert.Equal((1.0, 1.0, Lr), (schedule.Factor(0), schedule.Factor(150), schedule.LearningRate(5)));
        // torch (mode min, threshold 1e-4 rel: better means below best * 0.9999): 1.0 best; 0.99995 bad 1; 1.0 bad 2 > 1 ->
        // 5e-4, cooldown 1; 2.0 bad but cooling down (counter 0, bad 0); 2.0 bad 1; 0.9 best; NaN bad 1; 0.9 (not below
        // 0.9 * 0.9999) bad 2 -> 2.5e-4; 5 cooling; 5 bad 1; 5 bad 2 -> max(1.25e-4, min_lr 2e-4) = 2e-4; 5 cooling; 5, 5 ->
        // max(1e-4, 2e-4) = 2e-4, a cut of 0, not more than eps 1e-8: unchanged.
        double[] metrics = [1.0, 0.99995, 1.0, 2.0, 2.0, 0.9, double.NaN, 0.9, 5, 5, 5, 5, 5, 5];
        double[] rates = [1e-3, 1e-3, 5e-4, 5e-4, 5e-4, 5e-4, 5e-4, 2.5e-4, 2.5e-4, 2.5e-4, 2e-4, 2e-4, 2e-4, 2e-4];
        for (var i = 0; i < metrics.Length; i++)
        {
            schedule.Step(metrics[i]);
            Assert.True(rates[i] == schedule.LearningRate(i), $"validation {i + 1} ({metrics[i]}): {schedule.LearningRate(i):R}, torch {rates[i]:R}");
            Assert.Equal(rates[i] / Lr, schedule.Factor(i));
        }

        // mode max, threshold 0.1 abs, patience 0: better means above best + 0.1. 0.5 best; 0.55 bad 1 > 0 -> 1e-3 * 0.1 (torch's
        // default factor) = 0.0001; 0.61 best, rate kept.
        var max = new LearningRateSchedule(Lr, W, T, "reduce_lr_on_plateau", JsonNode.Parse("""{"mode": "max", "threshold_mode": "abs", "threshold": 0.1, "patience": 0}""")!.AsObject());
        double[] maxRates = [1e-3, 0.0001, 0.0001];
        foreach (var (metric, i) in new[] { 0.5, 0.55, 0.61 }.Select((m, i) => (m, i)))
        {
            max.Step(metric);
            Assert.Equal(maxRates[i], max.LearningRate(0));
        }
        // The step-driven schedules ignore a validation's metric.
        var linear = new LearningRateSchedule(Lr, W, T);
        linear.Step(1.0);
        Assert.Equal(0.5, linear.Factor(5));
    }

    [Fact]
    public void Warmup_stable_decay_holds_the_peak_then_decays_over_num_decay_steps()
    {
        // num_decay_steps 20: stable = 100 - 10 - 20 = 70 steps (10..79), decay over 80..99 (cosine by default), then min_lr_ratio 0.
        // 90 -> progress 10 / 20 -> 0.5 * (1.0 + math.cos(math.pi * 0.5 * 2.0 * 0.5)) = 0.5000000000000001.
        AssertFactors("warmup_stable_decay", """{"num_decay_steps": 20}""", (5, 0.5), (10, 1.0), (79, 1.0), (90, 0.5000000000000001), (100, 0.0));
        // Cosine warm-up, 1-sqrt decay, min_lr_ratio 0.2: 5 -> 0.5 * (1 - cos(pi * 0.5)) = 0.5 -> 0.5 * 0.8 + 0.2 = 0.6;
        // 85 -> progress 0.25 -> 1 - sqrt(0.25) = 0.5 -> 0.6; 100 -> 0.2. num_stable_steps 10 moves the decay to 20..39: 25 -> progress 5 / 20 -> 1 - sqrt(0.25) = 0.5 (no floor).
        AssertFactors("warmup_stable_decay", """{"num_decay_steps": 20, "warmup_type": "cosine", "decay_type": "1-sqrt", "min_lr_ratio": 0.2}""",
            (5, 0.6), (50, 1.0), (85, 0.6), (100, 0.2));
        AssertFactors("warmup_stable_decay", """{"num_decay_steps": 20, "num_stable_steps": 10, "decay_type": "1-sqrt"}""", (19, 1.0), (25, 0.5), (40, 0.0));
    }

    [Fact]
    public void Kwargs_built_in_code_schedule_as_the_same_kwargs_read_from_json()
    {
        // A JsonObject built in code holds .NET ints and longs (JsonValue<int>), not JSON text; each schedule equals the one
        // of the same kwargs parsed from JSON at every step, and the hand values of the tests above.
        foreach (var (type, built, json) in new (string, JsonObject, string)[]
        {
            ("cosine", new JsonObject { ["num_cycles"] = 2 }, """{"num_cycles": 2}"""),
            ("warmup_stable_decay", new JsonObject { ["num_decay_steps"] = 20L }, """{"num_decay_steps": 20}"""),
        })
        {
            var (inCode, parsed) = (new LearningRateSchedule(Lr, W, T, type, built), new LearningRateSchedule(Lr, W, T, type, JsonNode.Parse(json)!.AsObject()));
            Assert.All(Enumerable.Range(0, (int)T + 1), s => Assert.Equal(parsed.Factor(s), inCode.Factor(s)));
        }
        Assert.Equal(1.0, new LearningRateSchedule(Lr, W, T, "cosine", new JsonObject { ["num_cycles"] = 2 }).Factor(55));
        Assert.Equal(0.5, new LearningRateSchedule(Lr, W, T, "warmup_stable_decay", new JsonObject { ["num_decay_steps"] = 20 }).Factor(90), 1e-15);
    }

    public static TheoryData<string, string?, string> Refused => new()
    {
        { "cosine", """{"min_lr": 1e-6}""", "lr_scheduler_kwargs: cosine takes no argument 'min_lr' (it takes num_cycles)." },
        { "constant", """{"num_cycles": 1}""", "lr_scheduler_kwargs: constant takes no argument 'num_cycles' (it takes none)." },
        { "inverse_sqrt", """{"timescale": 100}""", "lr_scheduler_kwargs: inverse_sqrt takes no argument 'timescale' (it takes none)." },
        { "linear", """{"num_training_steps": 5}""", "lr_scheduler_kwargs: linear takes no argument 'num_training_steps' (it takes none)." },
        { "cosine", """{"num_cycles": "two"}""", "lr_scheduler_kwargs: cosine: 'num_cycles' is \"two\"; expected a number." },
        { "cosine", """{"num_cycles": null}""", "lr_scheduler_kwargs: cosine: 'num_cycles' is null; expected a number." },
        { "polynomial", """{"lr_end": 1e-3}""", "lr_scheduler_kwargs polynomial: lr_end (0.001) must be smaller than the initial learning_rate (0.001)." },
        { "cosine_with_min_lr", null, "lr_scheduler_kwargs: cosine_with_min_lr: one of min_lr or min_lr_rate should be set." },
        { "cosine_with_min_lr", """{"min_lr": 1e-5, "min_lr_rate": 0.1}""", "lr_scheduler_kwargs: cosine_with_min_lr: only one of min_lr or min_lr_rate should be set." },
        { "warmup_stable_decay", "{}", "lr_scheduler_kwargs: warmup_stable_decay: num_decay_steps is required." },
        { "warmup_stable_decay", """{"num_decay_steps": 2.5}""", "lr_scheduler_kwargs: warmup_stable_decay: 'num_decay_steps' is 2.5; expected a whole number of steps." },
        { "warmup_stable_decay", """{"num_decay_steps": 2, "decay_type": "exp"}""", "lr_scheduler_kwargs: warmup_stable_decay: 'decay_type' is \"exp\"; expected \"linear\" or \"cosine\" or \"1-sqrt\"." },
        { "greedy", null, "lr_scheduler_type greedy: expected one of linear, cosine, cosine_with_restarts, polynomial, constant, constant_with_warmup, inverse_sqrt, reduce_lr_on_plateau, cosine_with_min_lr, cosine_warmup_with_min_lr, warmup_stable_decay." },
        { "cosine_warmup_with_min_lr", """{"num_cycles": 1}""", "lr_scheduler_kwargs: cosine_warmup_with_min_lr: one of min_lr or min_lr_rate should be set." },
        { "cosine_warmup_with_min_lr", """{"min_lr_rate": 0.1, "warmup_lr_rate": "low"}""", "lr_scheduler_kwargs: cosine_warmup_with_min_lr: 'warmup_lr_rate' is \"low\"; expected a number." },
        { "reduce_lr_on_plateau", """{"factor": 1.0}""", "lr_scheduler_kwargs: reduce_lr_on_plateau: factor should be < 1.0." },
        { "reduce_lr_on_plateau", """{"mode": "up"}""", "lr_scheduler_kwargs: reduce_lr_on_plateau: 'mode' is \"up\"; expected \"min\" or \"max\"." },
        { "reduce_lr_on_plateau", """{"patience": 1.5}""", "lr_scheduler_kwargs: reduce_lr_on_plateau: 'patience' is 1.5; expected a whole number of validations." },
        { "reduce_lr_on_plateau", """{"num_cycles": 1}""",
            "lr_scheduler_kwargs: reduce_lr_on_plateau takes no argument 'num_cycles' (it takes mode, factor, patience, threshold, threshold_mode, cooldown, min_lr, eps)." },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public void Kwargs_a_schedule_does_not_take_are_refused_naming_the_key_and_the_schedule(string type, string? kwargs, string expected)
    {
        var e = Assert.Throws<BertSharpException>(() => LearningRateSchedule.Check(type, kwargs is null ? null : JsonNode.Parse(kwargs)!.AsObject(), Lr));
        Assert.Equal(expected, e.Message);
    }

    public static TheoryData<string[], string> CliRefused => new()
    {
        { ["--lr-scheduler", "cosine", "--lr-scheduler-kwargs", """{"min_lr": 1e-6}"""], "error: --lr-scheduler-kwargs: cosine takes no argument 'min_lr' (it takes num_cycles)." },
        { ["--lr-scheduler-kwargs", "[2]"], "error: --lr-scheduler-kwargs [2]: expected a JSON object such as '{\"num_cycles\": 2}'." },
        { ["--lr-scheduler-kwargs", "{num_cycles: 2}"], "error: --lr-scheduler-kwargs {num_cycles: 2}: expected a JSON object such as '{\"num_cycles\": 2}'." },
        // Python's json keeps the last of two keys; System.Text.Json's default parse kept both and failed as an internal error.
        { ["--lr-scheduler", "cosine", "--lr-scheduler-kwargs", """{"num_cycles": 1, "num_cycles": 2}"""], "error: --lr-scheduler-kwargs: duplicate key 'num_cycles'." },
        { ["--lr-scheduler", "polynomial", "--lr-scheduler-kwargs", """{"lr_end": 0.5}""", "--lr", "0.1"],
            "error: --lr-scheduler-kwargs polynomial: lr_end (0.5) must be smaller than the initial --lr (0.1)." },
        { ["--lr-scheduler", "reduce_lr_on_plateau", "--lr-scheduler-kwargs", """{"factor": 2}"""], "error: --lr-scheduler-kwargs: reduce_lr_on_plateau: factor should be < 1.0." },
    };

    [Theory]
    [MemberData(nameof(CliRefused))]
    public void Both_training_commands_refuse_bad_scheduler_options_in_one_line_before_writing(string[] options, string expected)
    {
        using var tmp = TestPaths.TempDir();
        var vocab = Path.Combine(TestPaths.Fixtures, "hf_bert", "sequence-classification", "vocab.txt");
        string[][] commands =
        [
            ["finetune", "--task", "sst2", "--data", Path.Combine(TestPaths.Fixtures, "data", "sst2_train.tsv"), "--config", "tiny", "--vocab", vocab,
                "--output", tmp.File("ft"), "--device", "cpu", .. options],
            ["pretrain", "--data", tmp.File("no-data-needed"), "--config", "tiny", "--vocab", vocab, "--output", tmp.File("pt"), "--device", "cpu", .. options],
        ];
        foreach (var command in commands)
        {
            var run = CliRunner.Run(command);
            Assert.True(run.ExitCode == 2, $"{command[0]}: exit {run.ExitCode}, stderr {run.StdErr}");
            Assert.Equal(expected, Assert.Single(run.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
            Assert.Empty(Directory.GetFileSystemEntries(tmp.Path));
        }
    }

    [Fact]
    public void An_unknown_scheduler_name_is_refused_by_the_parser_with_the_names_it_takes()
    {
        var run = CliRunner.Run("pretrain", "--lr-scheduler", "cosine_annealing", "--output", "unused");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("cosine_annealing", run.StdErr, StringComparison.Ordinal);
        Assert.Contains("warmup_stable_decay", run.StdErr, StringComparison.Ordinal);
        Assert.Contains("reduce_lr_on_plateau", run.StdErr, StringComparison.Ordinal);
        Assert.Contains("cosine_warmup_with_min_lr", run.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public void Reduce_lr_on_plateau_is_refused_without_validation_or_evaluation_in_one_line()
    {
        using var tmp = TestPaths.TempDir();
        var vocab = Path.Combine(TestPaths.Fixtures, "hf_bert", "sequence-classification", "vocab.txt");
        string[] plateau = ["--lr-scheduler", "reduce_lr_on_plateau", "--device", "cpu"];
        // As HF's TrainingArguments refuses it without an eval strategy: nothing would ever step it.
        CliRunner.Run(["finetune", "--task", "sst2", "--data", Path.Combine(TestPaths.Fixtures, "data", "sst2_train.tsv"), "--config", "tiny", "--vocab", vocab,
                "--output", tmp.File("ft"), "--val-size", "0", .. plateau])
            .AssertOneLineError("--lr-scheduler reduce_lr_on_plateau: needs validation data (a validation split or file); it lowers the rate when the validation metric stops improving.");
        // SQuAD's validation (the sample dev set is v2.0) reports no loss, the metric HF's default metric_for_best_model would have it watch.
        CliRunner.Run(["finetune", "--task", "squad", "--data", Path.Combine(TestPaths.RepoRoot, "samples", "squad", "train.json"), "--eval-data", Path.Combine(TestPaths.RepoRoot, "samples", "squad", "dev.json"),
                "--model", Path.Combine(TestPaths.RepoRoot, "models", "bertsharp-tiny"), "--output", tmp.File("qa"), .. plateau])
            .AssertOneLineError("--lr-scheduler reduce_lr_on_plateau: watches the validation loss, which this task's validation does not report; give --save-best one of exact, f1, best_exact, best_f1, HasAns_exact, HasAns_f1, NoAns_exact, NoAns_f1.");
        // Pre-training steps it at each --eval-every evaluation, as run_mlm.py's Trainer does with an eval strategy.
        CliRunner.Run(["pretrain", "--data", tmp.File("no-data-needed"), "--config", "tiny", "--vocab", vocab, "--output", tmp.File("pt"), .. plateau])
            .AssertOneLineError("--lr-scheduler reduce_lr_on_plateau: needs evaluation (--eval-every N); it lowers the rate when the evaluation loss stops improving.");
        Assert.Empty(Directory.GetFileSystemEntries(tmp.Path));
    }
}
