using System.Text.Json.Nodes;
using BertSharp.Data;
using BertSharp.Tests.Infrastructure;
using BertSharp.Training;

namespace BertSharp.Tests.Training;

/// <summary>
/// <c>--eval-steps N</c> as HF's <c>eval_strategy="steps"</c>: the steps that validate, HF's fractional epochs and the loss of
/// each row are written down here by hand for the runs' shape (6 training examples in batches of 2: 3 steps an epoch), the
/// best step and the early stop worked out from the validation losses the runs log. Seeded in-process runs on the tiny
/// preset: the serial collection.
/// </summary>
[Collection(SerialCollection.Name)]
[Trait(SerialCollection.TraitName, SerialCollection.TraitValue)]
public class EvalStepsTests
{
    private static string Data => TinySst2Run.Data;

    private static string Vocab => TinySst2Run.Vocab;

    /// <summary>6 training examples (2 held out) in batches of 2, one per step: 3 steps per epoch; validation every 2 steps.</summary>
    private static FineTuneOptions Options(string output, int epochs, Func<TrainingOptions, TrainingOptions>? change = null) =>
        TinySst2Run.Options(output, t => (change ?? (x => x))(t with { Epochs = epochs, GradAccum = 1, EvalSteps = 2 }));

    private static List<JsonObject> Evals(string model) =>
        [.. TrainLog.Read(Path.Combine(model, TrainLog.FileName)).Where(e => TrainLog.TypeOf(e) == "eval")];

    private static double ValidationLoss(JsonObject eval) => TrainLog.Number((JsonObject)eval["validation"]!, "loss");

    private static JsonObject End(string model) => TrainLog.Read(Path.Combine(model, TrainLog.FileName)).Single(e => TrainLog.TypeOf(e) == "end");

    private static byte[] Weights(string dir) => File.ReadAllBytes(Path.Combine(dir, "model.safetensors"));

    [Trait(SlowFirstOrderer.Category, SlowFirstOrderer.Slow)]
    [Fact]
    public void Validations_fall_every_n_steps_and_at_the_last_with_hfs_fractional_epochs_and_the_best_step_and_early_stop_follow_them()
    {
        using var tmp = TestPaths.TempDir();
        var full = FineTuner.Run(Options(tmp.File("full"), epochs: 5));
        // 15 steps: every second one validates, and the last (15) too. HF's epoch is the batches seen over the epoch's 3.
        long[] steps = [2, 4, 6, 8, 10, 12, 14, 15];
        double[] epochs = [2 / 3.0, 4 / 3.0, 2, 8 / 3.0, 10 / 3.0, 4, 14 / 3.0, 5];
        var evals = Evals(tmp.File("full"));
        Assert.Equal(steps, evals.Select(TrainLog.StepOf));
        Assert.Equal(epochs, evals.Select(e => TrainLog.Number(e, "epoch")), (a, b) => Math.Abs(a - b) < 1e-12);
        Assert.Equal([1, 2, 2, 3, 4, 4, 5, 5], full.Epochs.Select(e => e.Epoch));
        // Each row's training loss is the mean of the steps' since the row before: two steps, and the last row step 15 alone.
        var l = full.StepLosses;
        double[] means = [.. Enumerable.Range(0, 7).Select(i => (l[2 * i] + l[(2 * i) + 1]) / 2), l[14]];
        Assert.Equal(means, evals.Select(e => TrainLog.Number(e, "train_loss")), (a, b) => Math.Abs(a - b) < 1e-12);
        LossPlotChecks.AssertAPointPerValidation(tmp.File("full"), "sst2", evalSteps: 2, steps, evals.Select(ValidationLoss).ToList());

        // The best step is the one of the lowest validation loss (the first of equals), its weights those the same schedule
        // holds at that step without --eval-steps: validating does not disturb training.
        var losses = evals.Select(ValidationLoss).ToList();
        var bestIndex = losses.IndexOf(losses.Min());
        var bestStep = steps[bestIndex];
        Assert.Equal(bestStep, full.Epochs.Single(e => e.IsBest && e.Step == bestStep).Step);
        Assert.Equal(bestStep, (long)TrainLog.Number(End(tmp.File("full")), "best_step"));
        Assert.Equal(losses.Min(), full.FinalValidation!.Get("loss"));
        var upto = FineTuner.Run(Options(tmp.File("upto"), epochs: 5, t => t with { EvalSteps = null, StopAfter = (int)bestStep }));
        Assert.Equal(l.Take((int)bestStep), upto.StepLosses);
        Assert.Equal(Weights(tmp.File(FormattableString.Invariant($"upto/checkpoint-{bestStep}"))), Weights(tmp.File("full")));

        var args = JsonNode.Parse(File.ReadAllText(tmp.File("full/training_args.json")))!;
        Assert.Equal(("steps", 2), ((string)args["eval_strategy"]!, (int)args["eval_steps"]!));
        // The card's table: a row per validation, HF's epoch rounded to 4 places as modelcard.py's _maybe_round.
        var rows = File.ReadAllText(tmp.File("full/README.md")).Split('\n').Where(r => r.StartsWith('|')).Skip(2).Select(r => r.Split('|')).ToList();
        Assert.Equal(["0.6667", "1.3333", "2.0", "2.6667", "3.3333", "4.0", "4.6667", "5.0"], rows.Select(r => r[2].Trim()));
        Assert.Equal(steps.Select(s => s.ToString(System.Globalization.CultureInfo.InvariantCulture)), rows.Select(r => r[3].Trim()));

        // Early stopping counts validations: HF's rule on the full run's losses says at which one it stops.
        var (stopAt, bestOfEarly) = EarlyStoppingTests.HfStop(losses, patience: 2, threshold: 0);
        var stop = Assert.NotNull(stopAt);
        Assert.InRange(stop, 3, steps.Length - 1);
        var early = FineTuner.Run(Options(tmp.File("early"), epochs: 5, t => t with { EarlyStoppingPatience = 2 }));
        Assert.True(early.Completed);
        Assert.Equal(steps.Take(stop), Evals(tmp.File("early")).Select(TrainLog.StepOf));
        Assert.Equal(l.Take((int)steps[stop - 1]), early.StepLosses);
        var end = End(tmp.File("early"));
        Assert.Equal(steps[bestOfEarly - 1], (long)TrainLog.Number(end, "best_step"));
        Assert.Equal(steps[stop - 1], (long)TrainLog.Number((JsonObject)end["early_stopping"]!, "stopped_at_step"));
        Assert.Equal(losses[bestOfEarly - 1], early.FinalValidation!.Get("loss"));
        if (steps[bestOfEarly - 1] == bestStep)
        {
            Assert.Equal(Weights(tmp.File("full")), Weights(tmp.File("early")));
        }
    }

    [Fact]
    public void The_cards_results_table_and_the_logs_train_lines_carry_hfs_fractional_epoch_of_each_step_with_gradient_accumulation()
    {
        using var tmp = TestPaths.TempDir();
        var model = tmp.File("run");
        // TinySst2Run as it is, validated at every step: 6 training examples in batches of 2, 2 batches a step, so an epoch
        // is 3 batches in 2 steps (of 2 batches, then 1), 6 steps in 3 epochs. HF's state.epoch counts batches, not steps:
        // step 1 ends at batch 2 of 3 (2/3, where step / steps per epoch would say 0.5), step 2 at the epoch's end (1.0).
        var run = FineTuner.Run(TinySst2Run.Options(model, t => t with { EvalSteps = 1 }));
        long[] steps = [1, 2, 3, 4, 5, 6];
        double[] epochs = [.. steps.Select(s => (((s - 1) / 2 * 3) + (s % 2 == 1 ? 2 : 3)) / 3.0)];
        // The card's cells as modelcard.py's _maybe_round prints those floats: f"{v:.4f}" when Python's repr has more than
        // 4 decimals (0.6666666666666666, 1.6666666666666667, 2.6666666666666665), else the repr itself (1.0, not 1).
        string[] cells = ["0.6667", "1.0", "1.6667", "2.0", "2.6667", "3.0"];

        var log = TrainLog.Read(Path.Combine(model, TrainLog.FileName));
        var trains = log.Where(e => TrainLog.TypeOf(e) == "train").ToList();
        Assert.Equal(steps, trains.Select(TrainLog.StepOf));
        Assert.Equal(epochs, trains.Select(e => TrainLog.Number(e, "epoch")), (a, b) => Math.Abs(a - b) < 1e-12);
        var evals = Evals(model);
        Assert.Equal(steps, evals.Select(TrainLog.StepOf));
        Assert.Equal(epochs, evals.Select(e => TrainLog.Number(e, "epoch")), (a, b) => Math.Abs(a - b) < 1e-12);

        // make_markdown_table: the header, the centred separator, then a row per validation in the log's order.
        var table = File.ReadAllText(Path.Combine(model, "README.md")).Split('\n').SkipWhile(l => l != "### Training results").Skip(2)
            .TakeWhile(l => l.StartsWith('|')).Select(l => l.Split('|')[1..^1].Select(c => c.Trim()).ToList()).ToList();
        Assert.Equal(["Training Loss", "Epoch", "Step", "Validation Loss"], table[0].Take(4));
        Assert.All(table[1], c => Assert.Matches("^:-+:$", c));
        var rows = table.Skip(2).ToList();
        Assert.Equal(cells, rows.Select(r => r[1]));
        Assert.Equal(steps.Select(s => s.ToString(System.Globalization.CultureInfo.InvariantCulture)), rows.Select(r => r[2]));
        // A row a step: its training loss that step's, its validation loss the step's validation, both rounded to 4 places.
        static double Cell(string c) => double.Parse(c, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(run.StepLosses, rows.Select(r => Cell(r[0])), (a, b) => Math.Abs(a - b) <= 5e-5);
        Assert.Equal(evals.Select(ValidationLoss), rows.Select(r => Cell(r[3])), (a, b) => Math.Abs(a - b) <= 5e-5);
        LossPlotChecks.AssertAPointPerValidation(model, "sst2", evalSteps: 1, steps, [.. evals.Select(ValidationLoss)]);
    }

    [Fact]
    public void The_fractional_epoch_counts_batches_as_hfs_state_epoch_does_with_gradient_accumulation()
    {
        // 6 examples in batches of 2, 2 batches a step: an epoch is steps of 2 and 1 batches. HF's state.epoch after a step is
        // the epochs before plus (the step's last batch + 1) / 3: 2/3, 1, then 1 + 2/3, 2.
        var plan = new EpochPlan([5, 5, 5, 5, 5, 5], batchSize: 2, gradAccum: 2, bucketByLength: false, seed: 1);
        Assert.Equal([2 / 3.0, 1, 5 / 3.0, 2], new long[] { 1, 2, 3, 4 }.Select(plan.FractionalEpoch), (a, b) => Math.Abs(a - b) < 1e-12);
    }

    [Fact]
    public void A_run_stopped_between_two_validations_resumes_to_the_uninterrupted_runs_rows_and_weights()
    {
        using var tmp = TestPaths.TempDir();
        var straight = FineTuner.Run(Options(tmp.File("straight"), epochs: 2));
        // Step 3 lies between the validations at 2 and 4: the checkpoint holds step 3's loss, which the row at 4 averages.
        var first = FineTuner.Run(Options(tmp.File("split"), epochs: 2, t => t with { StopAfter = 3 }));
        Assert.False(first.Completed);
        var checkpoint = tmp.File("split/checkpoint-3");
        Assert.True(Directory.Exists(checkpoint));
        var refused = Cli.CliErrors.Describe(Assert.Throws<BertSharpException>(() =>
            FineTuner.Run(Options(tmp.File("split"), epochs: 2, t => t with { Resume = true, EvalSteps = 3 }))));
        Assert.Equal($"{checkpoint}: cannot resume: --eval-steps was 2 in the checkpoint but is 3 now; resume with the same settings.", refused);
        // Without --eval-steps the message names the flag the user left out, not eval_strategy, which HF derives from it.
        var dropped = Cli.CliErrors.Describe(Assert.Throws<BertSharpException>(() =>
            FineTuner.Run(Options(tmp.File("split"), epochs: 2, t => t with { Resume = true, EvalSteps = null }))));
        Assert.Equal($"{checkpoint}: cannot resume: --eval-steps was 2 in the checkpoint but is not given now; resume with the same settings.", dropped);

        // HF's ratio form resolves against the run's 6 steps before the settings are compared: 0.5 is 3 steps, refused as 3
        // is; 0.3 is ceil(1.8) = 2, the checkpoint's own, so the resumed run below validates every 2 steps as it started.
        var half = Cli.CliErrors.Describe(Assert.Throws<BertSharpException>(() =>
            FineTuner.Run(Options(tmp.File("split"), epochs: 2, t => t with { Resume = true, EvalSteps = 0.5 }))));
        Assert.Equal($"{checkpoint}: cannot resume: --eval-steps was 2 in the checkpoint but is 3 now; resume with the same settings.", half);

        var rest = FineTuner.Run(Options(tmp.File("split"), epochs: 2, t => t with { Resume = true, EvalSteps = 0.3 }));
        Assert.True(rest.Completed);
        Assert.Equal(Weights(tmp.File("straight")), Weights(tmp.File("split")));
        Assert.Equal(straight.StepLosses, rest.StepLosses);
        static IEnumerable<string> Rows(string model) => Evals(model).Select(e =>
        {
            var row = (JsonObject)e.DeepClone();
            row.Remove("elapsed_s");
            row.Remove("examples_per_s");
            return row.ToJsonString();
        });
        Assert.Equal(Rows(tmp.File("straight")), Rows(tmp.File("split")));
        Assert.Equal(File.ReadAllText(tmp.File("straight/metrics.json")), File.ReadAllText(tmp.File("split/metrics.json")));
        Assert.Equal(End(tmp.File("straight")).ToJsonString(), End(tmp.File("split")).ToJsonString());
    }

    [Fact]
    public void The_cli_prints_a_row_per_validation_with_its_step_and_epoch_and_names_the_best_step()
    {
        using var tmp = TestPaths.TempDir();
        var output = tmp.File("run");
        var r = CliRunner.Run("finetune", "--task", "sst2", "--data", Data, "--config", "tiny", "--vocab", Vocab, "--output", output, "--epochs", "2",
            "--batch-size", "2", "--val-size", "2", "--split", "random", "--max-length", "16", "--lr", "1e-12", "--seed", "11", "--device", "cpu",
            "--save-best", "accuracy", "--eval-steps", "2");
        Assert.True(r.ExitCode == 0, r.StdErr);
        var lines = r.StdOut.Split('\n');
        var header = lines.First(x => x.TrimStart().StartsWith("step", StringComparison.Ordinal));
        Assert.StartsWith(" step   epoch  train loss", header, StringComparison.Ordinal);
        var rows = lines.SkipWhile(x => x != header).Skip(1).TakeWhile(x => x.Length > 0 && char.IsWhiteSpace(x[0]))
            .Select(x => x.Split(' ', StringSplitOptions.RemoveEmptyEntries)[..2]).ToList();
        // 6 steps: validations at 2, 4 and 6, at HF's epochs 2/3, 4/3 and 2.
        Assert.Equal([["2", "0.6667"], ["4", "1.3333"], ["6", "2"]], rows);
        // At a learning rate of 1e-12 the accuracy never moves: the first validation stays the best.
        var saved = lines.Single(x => x.StartsWith("saved ", StringComparison.Ordinal));
        Assert.StartsWith($"saved {output} (step 2, epoch 0.6667 of 2, best by accuracy; validation: accuracy ", saved, StringComparison.Ordinal);
    }

    [Fact]
    public void Steps_neither_whole_nor_a_ratio_eval_steps_without_validation_data_or_save_steps_not_a_multiple_of_them_are_refused_in_one_line_before_anything_is_written()
    {
        using var tmp = TestPaths.TempDir();
        var output = tmp.File("run");
        string[] cls = ["finetune", "--task", "sst2", "--data", Data, "--config", "tiny", "--vocab", Vocab, "--output", output];
        string[] ner = ["finetune", "--task", "ner", "--data", Path.Combine(TestPaths.RepoRoot, "samples", "ner", "train.conll"),
            "--eval-data", Path.Combine(TestPaths.RepoRoot, "samples", "ner", "dev.conll"), "--config", "tiny", "--vocab", Vocab, "--output", output];
        void Refused(string[] args, string message)
        {
            var r = CliRunner.Run(args);
            Assert.Equal(2, r.ExitCode);
            Assert.Equal("error: " + message, r.StdErr.Trim());
            Assert.False(Directory.Exists(output));
        }
        const string NotStepsNorRatio = ": expected a whole number of optimizer steps ≥ 1 or a ratio of the run's steps in (0, 1).";
        Refused([.. cls, "--eval-steps", "0"], "--eval-steps 0" + NotStepsNorRatio);
        Refused([.. cls, "--eval-steps", "-3"], "--eval-steps -3" + NotStepsNorRatio);
        Refused([.. cls, "--eval-steps", "1.5"], "--eval-steps 1.5" + NotStepsNorRatio);
        Refused([.. cls, "--save-steps", "2.5"],
            "--save-steps 2.5: expected a whole number of optimizer steps ≥ 1, a ratio of the run's steps in (0, 1), or 0 (a checkpoint only where the run validates).");
        const string NotAMultiple =
            "--save-steps 30 and --eval-steps 20: the saving steps must be a multiple of the evaluation steps, but found 30, which is not a multiple of 20.";
        Refused([.. cls, "--eval-steps", "20", "--save-steps", "30"], NotAMultiple);
        Refused([.. ner, "--eval-steps", "20", "--save-steps", "30"], NotAMultiple);
        // HF's Trainer refuses eval_strategy="steps" without an eval_dataset: each "validation" would score nothing.
        Refused([.. ner[..4], .. ner[6..], "--eval-steps", "2"],
            "--eval-steps 2: needs validation data (a validation file: --eval-data); --save-steps writes checkpoints alone.");
        // Ratios are checked once resolved against the run's steps: 6 examples (2 held out of 8) in batches of 2 for 5 epochs
        // are 15 steps, 0.3 of them ceil(4.5) = 5 and 0.5 of them ceil(7.5) = 8, not a multiple of 5.
        Refused([.. cls, "--val-size", "2", "--split", "random", "--batch-size", "2", "--grad-accum", "1", "--epochs", "5", "--eval-steps", "0.3", "--save-steps", "0.5"],
            "--save-steps 0.5 (8 steps) and --eval-steps 0.3 (5 steps): the saving steps must be a multiple of the evaluation steps, but found 8, which is not a multiple of 5.");
    }
}
