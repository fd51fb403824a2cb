using System.Text.Json.Nodes;
using BertSharp.Data;
using BertSharp.Tests.Infrastructure;
using BertSharp.Training;

namespace BertSharp.Tests.Training;

/// <summary>
/// <c>--early-stopping-patience</c> / <c>--early-stopping-threshold</c> as HF's EarlyStoppingCallback: the epoch a run stops at
/// is worked out here from the validation metrics the runs log, by HF's rule (the counter compares an epoch with the best of
/// the epochs before it, resets only on an improvement by more than the threshold, and stops the run at the patience), and
/// the model is the best epoch's. Seeded in-process runs on the tiny preset: the serial collection.
/// </summary>
[Collection(SerialCollection.Name)]
[Trait(SerialCollection.TraitName, SerialCollection.TraitValue)]
public class EarlyStoppingTests
{
    private static string Data => TinySst2Run.Data;

    private static string Vocab => TinySst2Run.Vocab;

    /// <summary>6 training examples (2 held out) in batches of 2, 2 per step: 2 steps per epoch, 8 epochs.</summary>
    internal static FineTuneOptions Options(string output, string saveBest, Func<TrainingOptions, TrainingOptions>? change = null) =>
        TinySst2Run.Options(output, t => (change ?? (x => x))(t with { Epochs = 8 })) with { SaveBest = saveBest };

    /// <summary>
    /// HF's EarlyStoppingCallback for a metric where lower is better, written from transformers' check_metric_value and
    /// on_evaluate: the best is the one before this evaluation (_determine_best_metric updates it after on_evaluate), and it
    /// moves on every strict improvement, whatever the threshold. Returns the epoch the run stops at (null when it does not
    /// stop) and the best epoch then.
    /// </summary>
    internal static (int? Stop, int Best) HfStop(IReadOnlyList<double> losses, int patience, double threshold)
    {
        double? best = null;
        var (bestEpoch, counter) = (0, 0);
        for (var i = 0; i < losses.Count; i++)
        {
            var v = losses[i];
            counter = best is null || (v < best && Math.Abs(v - best.Value) > threshold) ? 0 : counter + 1;
            if (best is null || v < best)
            {
                (best, bestEpoch) = (v, i + 1);
            }
            if (counter >= patience)
            {
                return (i + 1, bestEpoch);
            }
        }
        return (null, bestEpoch);
    }

    /// <summary>The validation losses of a finished run's epochs, from its train_log.jsonl.</summary>
    internal static List<double> ValidationLosses(string model) =>
        [.. TrainLog.Read(Path.Combine(model, TrainLog.FileName)).Where(e => TrainLog.TypeOf(e) == "epoch").Select(e => TrainLog.Number((JsonObject)e["validation"]!, "loss"))];

    [Trait(SlowFirstOrderer.Category, SlowFirstOrderer.Slow)]
    [Fact]
    public void A_run_stops_where_hfs_rule_puts_it_and_keeps_the_best_epoch_and_the_threshold_counts_small_gains_as_none()
    {
        using var tmp = TestPaths.TempDir();
        var full = FineTuner.Run(Options(tmp.File("full"), "loss"));
        Assert.Equal(8, full.Epochs.Count);
        var losses = ValidationLosses(tmp.File("full"));

        // No threshold: the epochs run are the full run's first ones, step for step.
        var (stopAt, best) = HfStop(losses, patience: 2, threshold: 0);
        // The run's losses rise and fall, so the rule stops it before the end (a run that never stopped would prove nothing).
        var stop = Assert.NotNull(stopAt);
        Assert.InRange(stop, 3, 7);
        var early = FineTuner.Run(Options(tmp.File("early"), "loss", t => t with { EarlyStoppingPatience = 2 }));
        Assert.True(early.Completed);
        Assert.Equal(Enumerable.Range(1, stop), early.Epochs.Select(e => e.Epoch));
        Assert.Equal(losses.Take(stop), ValidationLosses(tmp.File("early")));
        Assert.Equal(full.StepLosses.Take(2 * stop), early.StepLosses);
        Assert.Equal(best, early.Epochs.Last(e => e.IsBest).Epoch);
        Assert.Equal(losses[best - 1], early.FinalValidation!.Get("loss"));
        // The weights are the best epoch's: those a run of the same schedule stopped at that epoch's end holds.
        FineTuner.Run(Options(tmp.File("upto"), "loss", t => t with { StopAfter = 2 * best }));
        Assert.Equal(File.ReadAllBytes(tmp.File(FormattableString.Invariant($"upto/checkpoint-{2 * best}/model.safetensors"))), File.ReadAllBytes(tmp.File("early/model.safetensors")));
        var end = TrainLog.Read(tmp.File("early/train_log.jsonl")).Single(e => TrainLog.TypeOf(e) == "end");
        Assert.Equal(2 * stop, TrainLog.StepOf(end));
        Assert.Equal(best, (int)TrainLog.Number(end, "best_epoch"));
        Assert.Equal(new JsonObject { ["stopped_at_epoch"] = stop, ["patience"] = 2, ["threshold"] = 0.0 }.ToJsonString(), end["early_stopping"]!.ToJsonString());
        var args = JsonNode.Parse(File.ReadAllText(tmp.File("early/training_args.json")))!;
        Assert.Equal((2, 0.0), ((int)args["early_stopping_patience"]!, (double)args["early_stopping_threshold"]!));
        // The card's epoch table has the epochs run, one row each.
        var card = File.ReadAllText(tmp.File("early/README.md"));
        Assert.Equal(stop, card.Split('\n').Count(l => l.StartsWith('|') && l.Split('|')[2].Trim().EndsWith(".0", StringComparison.Ordinal)));

        // A threshold above every gain the run makes: no epoch resets the counter, so it stops at epoch 1 + patience, and the
        // best epoch among those is still the one kept (HF moves best_metric on any improvement).
        var gains = losses.Zip(losses.Skip(1), (a, b) => a - b).ToList();
        var threshold = gains.Max() + 1e-3;
        var (thresholdStop, thresholdBest) = HfStop(losses, patience: 2, threshold);
        Assert.Equal(3, thresholdStop);
        var bestOfThree = losses.Take(3).Select((l, i) => (l, i)).MinBy(x => x.l).i + 1;
        Assert.Equal(bestOfThree, thresholdBest);
        // The run gains within those epochs (by less than the threshold): the best moves while the counter does not reset.
        Assert.NotEqual(1, bestOfThree);
        var strict = FineTuner.Run(Options(tmp.File("threshold"), "loss", t => t with { EarlyStoppingPatience = 2, EarlyStoppingThreshold = threshold }));
        Assert.Equal(3, strict.Epochs.Count);
        Assert.Equal(bestOfThree, strict.Epochs.Last(e => e.IsBest).Epoch);
        Assert.Equal(losses[bestOfThree - 1], strict.FinalValidation!.Get("loss"));
    }

    [Fact]
    public void A_metric_that_stalls_stops_the_run_after_patience_epochs_with_the_first_epochs_weights_and_says_so()
    {
        using var tmp = TestPaths.TempDir();
        var output = tmp.File("run");
        // At a learning rate of 1e-12 the weights cannot move the two validation predictions: accuracy is the same every
        // epoch. By hand with HF's rule: epoch 1 is the first best (counter 0); epochs 2 and 3 only equal it (counter 1, 2):
        // patience 2 stops the run at the end of epoch 3, keeping epoch 1.
        string[] run = ["finetune", "--task", "sst2", "--data", Data, "--config", "tiny", "--vocab", Vocab, "--output", output, "--epochs", "6",
            "--batch-size", "2", "--grad-accum", "2", "--val-size", "2", "--split", "random", "--max-length", "16", "--lr", "1e-12", "--seed", "11",
            "--device", "cpu", "--save-best", "accuracy", "--early-stopping-patience", "2"];
        var r = CliRunner.Run(run);
        Assert.True(r.ExitCode == 0, r.StdErr);
        var accuracies = TrainLog.Read(Path.Combine(output, TrainLog.FileName)).Where(e => TrainLog.TypeOf(e) == "epoch")
            .Select(e => TrainLog.Number((JsonObject)e["validation"]!, "accuracy")).ToList();
        Assert.Equal(3, accuracies.Count);
        Assert.All(accuracies, a => Assert.Equal(accuracies[0], a));
        var saved = r.StdOut.Split('\n').Single(l => l.StartsWith("saved ", StringComparison.Ordinal));
        Assert.StartsWith($"saved {output} (epoch 1 of 6, best by accuracy; stopped early after epoch 3, patience 2; validation: accuracy ", saved, StringComparison.Ordinal);
        Assert.Contains("next: ", r.StdOut, StringComparison.Ordinal);
        // A finished model, as a run of every epoch ends: no checkpoint left, the first epoch's metrics.
        Assert.Empty(Directory.GetDirectories(output));
        Assert.True(File.Exists(Path.Combine(output, "model.safetensors")));
    }

    [Fact]
    public void A_patience_reached_at_the_last_epoch_stops_nothing_so_the_end_line_records_no_early_stop()
    {
        using var tmp = TestPaths.TempDir();
        var output = tmp.File("run");
        // The stalled run above, planned for the 3 epochs its patience of 2 would stop it after: the counter reaches 2 at the
        // run's own end, where HF's should_training_stop changes nothing, so the run is a complete one as the closing line says.
        string[] run = ["finetune", "--task", "sst2", "--data", Data, "--config", "tiny", "--vocab", Vocab, "--output", output, "--epochs", "3",
            "--batch-size", "2", "--grad-accum", "2", "--val-size", "2", "--split", "random", "--max-length", "16", "--lr", "1e-12", "--seed", "11",
            "--device", "cpu", "--save-best", "accuracy", "--early-stopping-patience", "2"];
        var r = CliRunner.Run(run);
        Assert.True(r.ExitCode == 0, r.StdErr);
        var log = TrainLog.Read(Path.Combine(output, TrainLog.FileName));
        Assert.Equal(3, log.Count(e => TrainLog.TypeOf(e) == "epoch"));
        var end = log.Single(e => TrainLog.TypeOf(e) == "end");
        Assert.Equal("""{"type":"end","step":6,"steps":6,"best_epoch":1}""", end.ToJsonString());
        Assert.DoesNotContain("stopped early", r.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public void Early_stopping_without_save_best_or_with_bad_values_is_refused_in_one_line_before_anything_is_written()
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
        const string NeedsSaveBest = "--early-stopping-patience 2: needs --save-best METRIC, the validation metric whose improvement it watches (HF's metric_for_best_model).";
        Refused([.. cls, "--early-stopping-patience", "2"], NeedsSaveBest);
        Refused([.. ner, "--early-stopping-patience", "2"], NeedsSaveBest);
        Refused([.. cls, "--save-best", "f1", "--early-stopping-threshold", "0.01"], "--early-stopping-threshold: only with --early-stopping-patience.");
        Refused([.. cls, "--save-best", "f1", "--early-stopping-patience", "0"],
            "--early-stopping-patience 0: expected at least 1 (epochs without improvement before the run stops).");
        Refused([.. cls, "--save-best", "f1", "--early-stopping-patience", "1", "--early-stopping-threshold", "-0.1"],
            "--early-stopping-threshold -0.1: expected a number ≥ 0.");
    }
}
