using System.Text.Json.Nodes;
using BertSharp.Checkpoints;
using BertSharp.Modeling;
using BertSharp.Tests.Infrastructure;
using BertSharp.Training;
using static System.FormattableString;

namespace BertSharp.Tests.Training;

/// <summary>
/// <c>--bf16</c> training (<see cref="TrainingOptions.Bf16"/>): it follows the float32 loss curve, keeps float32 weights and
/// optimizer state, records itself, resumes bitwise and refuses a resume that changes it.
/// </summary>
[Collection(SerialCollection.Name)]
[Trait(SerialCollection.TraitName, SerialCollection.TraitValue)]
public class Bf16TrainingTests(Xunit.Abstractions.ITestOutputHelper log)
{
    /// <summary>
    /// The tiny SST-2 run (learning rate 1e-3) for 40 steps (20 epochs of 2 steps), long enough for the loss to fall from
    /// ln 2 to a few hundredths: a curve that moves, so that following it means something.
    /// </summary>
    private static FineTuneOptions Options(string output, bool bf16, Func<TrainingOptions, TrainingOptions>? change = null) =>
        TinySst2Run.Options(output, t => (change ?? (x => x))(t with { Bf16 = bf16, Epochs = 20 })) with { SaveBest = null };

    /// <summary>
    /// Mean over the steps of |bf16 loss − float32 loss| / float32 loss: each step's loss compared with the same step's (same
    /// batches, same dropout draws), relative so that early and late steps weigh alike, averaged so that a single step's
    /// rounding luck does not decide; issue 18's acceptance is 2 % for this number.
    /// </summary>
    internal static double MeanRelativeDifference(IReadOnlyList<double> bf16, IReadOnlyList<double> fp32)
    {
        Assert.Equal(fp32.Count, bf16.Count);
        return bf16.Zip(fp32, (b, f) => Math.Abs(b - f) / f).Average();
    }

    [Trait(SlowFirstOrderer.Category, SlowFirstOrderer.Slow)]
    [Fact]
    public void A_bf16_run_follows_the_float32_loss_curve_within_2_percent_with_float32_weights_and_optimizer_state()
    {
        using var tmp = TestPaths.TempDir();
        var fp32 = FineTuner.Run(Options(tmp.File("fp32"), bf16: false));
        var bf16 = FineTuner.Run(Options(tmp.File("bf16"), bf16: true, t => t with { StopAfter = 39, SaveSteps = 39 }));
        Assert.Equal(40, fp32.StepLosses.Count);
        var mean = MeanRelativeDifference(bf16.StepLosses, fp32.StepLosses.Take(39).ToList());
        // The curve must move for "following" it to mean anything: the last float32 loss well below the first.
        log.WriteLine(Invariant($"mean relative difference {mean:P3}; float32 loss {fp32.StepLosses[0]:F4} → {fp32.StepLosses[^1]:F4}"));
        Assert.True(fp32.StepLosses[^1] < 0.9 * fp32.StepLosses[0], "the float32 run did not learn");
        Assert.True(mean < 0.02, Invariant($"mean relative difference {mean:P3} of the bf16 losses from the float32 ones"));
        Assert.NotEqual(fp32.StepLosses.Take(39), bf16.StepLosses);

        // The checkpoint the bf16 run stopped at: float32 weights and float32 AdamW moments (master weights).
        var checkpoint = tmp.File("bf16/checkpoint-39");
        Assert.All(SafeTensors.ReadHeader(Path.Combine(checkpoint, "model.safetensors")).Tensors, t => Assert.Equal("F32", t.DType.Name));
        var optimizer = SafeTensors.ReadHeader(Path.Combine(checkpoint, OptimizerState.FileName)).Tensors;
        Assert.NotEmpty(optimizer);
        Assert.All(optimizer.Where(t => t.Shape.Length > 0 && t.Shape.Aggregate(1L, (a, b) => a * b) > 1), t => Assert.Equal("F32", t.DType.Name));
        // Master weights: AdamW's float32 updates land in float32 weights, most of which bf16 cannot represent (weights kept
        // in bf16, or rounded to it after each step, would all be).
        var weights = SafeTensors.Load(Path.Combine(checkpoint, "model.safetensors"));
        var (total, beyondBf16) = (0L, 0L);
        foreach (var (_, w) in weights)
        {
            using var scope = TorchSharp.torch.NewDisposeScope();
            total += w.numel();
            beyondBf16 += w.ne(w.to_type(TorchSharp.torch.ScalarType.BFloat16).to_type(TorchSharp.torch.ScalarType.Float32)).sum().item<long>();
            w.Dispose();
        }
        Assert.True(beyondBf16 > total / 2, Invariant($"{beyondBf16} of {total} weights hold more than bf16's 8 bits"));

        // Resumed for the last step: bitwise the uninterrupted bf16 run's weights and losses.
        var straight = FineTuner.Run(Options(tmp.File("straight"), bf16: true));
        Assert.Equal(straight.StepLosses.Take(39), bf16.StepLosses);
        var rest = FineTuner.Run(Options(tmp.File("bf16"), bf16: true, t => t with { Resume = true, SaveSteps = 39 }));
        Assert.Equal(straight.StepLosses, rest.StepLosses);
        Assert.Equal(File.ReadAllBytes(tmp.File("straight/model.safetensors")), File.ReadAllBytes(tmp.File("bf16/model.safetensors")));
        Assert.Contains("mixed_precision_training: Native AMP (bf16)", File.ReadAllText(tmp.File("straight/README.md")), StringComparison.Ordinal);
        Assert.DoesNotContain("mixed_precision_training", File.ReadAllText(tmp.File("fp32/README.md")), StringComparison.Ordinal);
    }

    [Fact]
    public void The_cli_flag_is_recorded_and_a_resume_that_turns_it_on_or_off_is_refused_in_one_line_naming_it()
    {
        using var tmp = TestPaths.TempDir();
        string[] run = ["finetune", "--task", "sst2", "--data", TinySst2Run.Data, "--config", "tiny", "--vocab", TinySst2Run.Vocab, "--epochs", "1",
            "--batch-size", "2", "--val-size", "2", "--split", "random", "--max-length", "16", "--seed", "11", "--device", "cpu"];
        var done = CliRunner.Run([.. run, "--output", tmp.File("done"), "--bf16"]);
        Assert.True(done.ExitCode == 0, done.StdErr);
        // Recorded in training_args.json as HF's TrainingArguments names it.
        Assert.True((bool)JsonNode.Parse(File.ReadAllText(tmp.File("done/" + TrainingArgsFile.FileName)))!["bf16"]!);

        var on = CliRunner.Run([.. run, "--output", tmp.File("on"), "--bf16", "--stop-after", "1"]);
        Assert.True(on.ExitCode == 0, on.StdErr);
        var off = CliRunner.Run([.. run, "--output", tmp.File("off"), "--stop-after", "1"]);
        Assert.True(off.ExitCode == 0, off.StdErr);
        var dropped = CliRunner.Run([.. run, "--output", tmp.File("on"), "--resume"]);
        Assert.Equal(2, dropped.ExitCode);
        Assert.Equal($"error: {tmp.File("on/checkpoint-1")}: cannot resume: --bf16 was true in the checkpoint but is not given now; resume with the same settings.",
            dropped.StdErr.Trim());
        var added = CliRunner.Run([.. run, "--output", tmp.File("off"), "--resume", "--bf16"]);
        Assert.Equal(2, added.ExitCode);
        Assert.Equal($"error: {tmp.File("off/checkpoint-1")}: cannot resume: --bf16 was not given in the checkpoint but is true now; resume with the same settings.",
            added.StdErr.Trim());
    }

    [Fact]
    public void Pretrain_records_bf16_keeps_it_on_resume_and_refuses_it_on_a_run_started_without()
    {
        using var tmp = TestPaths.TempDir();
        var (data, vocab) = PretrainingTrainerTests.SmallData(tmp, dupe: 1);
        string[] run = ["pretrain", "--data", data, "--config", "tiny", "--vocab", vocab, "--steps", "2", "--batch-size", "4", "--device", "cpu"];
        var on = CliRunner.Run([.. run, "--output", tmp.File("on"), "--bf16", "--stop-after", "1"]);
        Assert.True(on.ExitCode == 0, on.StdErr);
        var state = TrainerState.Load(tmp.File("on/checkpoint-1/" + TrainerState.FileName));
        Assert.True((bool)state.Settings["bf16"]!);
        // A resume takes the run's own settings: bf16 without the flag, to the end, and the card says so.
        var resumed = CliRunner.Run("pretrain", "--output", tmp.File("on"), "--resume");
        Assert.True(resumed.ExitCode == 0, resumed.StdErr);
        Assert.Contains("mixed_precision_training: Native AMP (bf16)", File.ReadAllText(tmp.File("on/final/README.md")), StringComparison.Ordinal);

        var off = CliRunner.Run([.. run, "--output", tmp.File("off"), "--stop-after", "1"]);
        Assert.True(off.ExitCode == 0, off.StdErr);
        var added = CliRunner.Run("pretrain", "--output", tmp.File("off"), "--resume", "--bf16");
        Assert.Equal(2, added.ExitCode);
        Assert.Equal($"error: {tmp.File("off/checkpoint-1")}: cannot resume: --bf16 was not given in the checkpoint but is true now; resume with the same settings.",
            added.StdErr.Trim());
    }

    [Fact]
    public void Validation_during_a_bf16_run_runs_under_bf16_and_bert_evaluate_in_float32()
    {
        using var tmp = TestPaths.TempDir();
        var output = tmp.File("run");
        // The training file validated as it is (no split), so that bert evaluate can read the same examples.
        var run = FineTuner.Run(TinySst2Run.Options(output, t => t with { Bf16 = true, Epochs = 1, EvalDataPath = TinySst2Run.Data }) with { SaveBest = null });
        var logged = run.FinalValidation!.Get("loss");
        var evaluated = CliRunner.Run("evaluate", "--model", output, "--task", "sst2", "--data", TinySst2Run.Data, "--output", tmp.File("metrics.json"));
        Assert.True(evaluated.ExitCode == 0, evaluated.StdErr);
        var fp32 = (double)JsonNode.Parse(File.ReadAllText(tmp.File("metrics.json")))!["metrics"]!["loss"]!;
        // The same weights and examples: bert evaluate (float32) reproduces a float32 run's logged loss to the 6 decimals
        // metrics.json keeps, so a larger difference is the bf16 policy of the run's validation; bf16's precision bounds it.
        log.WriteLine(Invariant($"logged (bf16) {logged}, bert evaluate (float32) {fp32}"));
        Assert.True(Math.Abs(logged - fp32) > 1e-5, Invariant($"logged {logged} is the float32 loss {fp32}"));
        Assert.True(Math.Abs(logged - fp32) < 0.02 * fp32, Invariant($"logged {logged}, float32 {fp32}"));
    }

    [Fact]
    public void A_step_computes_its_loss_under_bf16_and_a_loss_that_throws_leaves_the_thread_in_float32()
    {
        using var model = new BertForSequenceClassification(BertConfig.Preset("tiny"));
        using var trainer = new Trainer(model, new OptimizerSettings(1e-3, 1e-8, 0, 1, 0, 1) { Bf16 = true });
        var task = new ThrowingTask();
        var e = Assert.Throws<InvalidOperationException>(() => trainer.Step<int>([() => 0], task));
        Assert.Equal("the loss failed", e.Message);
        Assert.Equal([true], task.Bf16Seen);
        // The scope the step opened is closed although the loss threw: this thread's next forward pass is float32 again.
        Assert.False(MixedPrecision.IsBf16Active);
    }

    private sealed class ThrowingTask : ITrainingTask<int>
    {
        public List<bool> Bf16Seen { get; } = [];

        public TorchSharp.torch.Tensor? Loss(int batch, MicroBatch micro)
        {
            Bf16Seen.Add(MixedPrecision.IsBf16Active);
            throw new InvalidOperationException("the loss failed");
        }

        public StepMetrics EndStep() => throw new InvalidOperationException("EndStep after a failed loss");
    }
}
