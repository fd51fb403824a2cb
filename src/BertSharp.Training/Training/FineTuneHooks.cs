using System.Diagnostics;
using System.Text.Json.Nodes;
using BertSharp.Distributed;
using BertSharp.Evaluation;
using TorchSharp;

namespace BertSharp.Training;

/// <summary>
/// Fine-tuning's hooks on the training loop, for sequence classification and the task heads alike: after every step the
/// log line and the progress of each micro-batch; at each epoch end (or every <see cref="TrainingOptions.EvalSteps"/> steps
/// and at the last) validation, the best choice, early stopping, the log line and a checkpoint; a checkpoint every
/// <see cref="TrainingOptions.SaveSteps"/> steps. Carries the running values a checkpoint must hold (the loss since the
/// epoch's start or the last validation, the best so far) in <see cref="TrainerState.Task"/>.
/// </summary>
/// <param name="o">The run's shared settings.</param>
/// <param name="saveBest">The validation metric whose best epoch's weights are kept, or null for the last.</param>
/// <param name="trainer">The loop (its optimizer is checkpointed).</param>
/// <param name="writeModel">Writes the model's files (config, weights, tokenizer) into a directory.</param>
/// <param name="validate">Validation metrics of the model now, or null without validation data.</param>
/// <param name="data">The epoch plan of the training data (its position is checkpointed).</param>
/// <param name="task">The task adapter (the last step's micro-batch losses and sizes).</param>
/// <param name="run">The run directory.</param>
/// <param name="log">The run's log.</param>
/// <param name="settings">What a resumed run must match (<see cref="TrainerState.Settings"/>).</param>
/// <param name="totalSteps">The run's optimizer steps.</param>
/// <param name="metricsExtra">Extra fields of every metrics.json written.</param>
/// <param name="progress">Receives progress.</param>
internal sealed class FineTuneHooks(
    TrainingOptions o, string? saveBest, Trainer trainer, Action<string> writeModel, Func<MetricsReport>? validate, EpochPlan data,
    IMicroBatchLosses task, RunDirectory run, TrainLog log, JsonObject settings, long totalSteps, IReadOnlyDictionary<string, object?> metricsExtra,
    IFineTuneProgress? progress) : ITrainingHook
{
    private readonly bool _lowerIsBetter = saveBest is { } metric && SaveBestMetric.LowerIsBetter(metric);
    private readonly Stopwatch _clock = new();
    private long _seenSinceClock;
    // The sum of the step losses since the epoch's start, or with --eval-steps since the last validation (a checkpoint's
    // trainer state holds it under this name).
    private const string EpochLossKey = "epoch_step_loss_sum";
    private double _epochLoss;
    // With --eval-steps: the training time and examples since the last validation (or since this invocation began).
    private readonly Stopwatch _sinceEval = new();
    private long _seenSinceEval;
    private readonly EarlyStopping? _early = o.EarlyStoppingPatience is { } patience ? new EarlyStopping(patience, o.EarlyStoppingThreshold ?? 0) : null;
    private bool _stop;

    /// <summary>Whether this process writes files and validates (rank 0 of a data-parallel run; a single process).</summary>
    public bool Writer { get; init; } = true;

    /// <summary>
    /// The data-parallel group: the ranks run a step's end that holds rank 0's solo work (validation, a checkpoint) as one
    /// <see cref="Rank0Work"/>, so the others wait however long it takes and fail with it when it fails.
    /// </summary>
    public ICommunicator Communicator { get; init; } = new LocalCommunicator();

    /// <summary>The last complete checkpoint (written or resumed from), or null.</summary>
    public string? LastCheckpoint { get; set; }

    /// <summary>The step of the last checkpoint this invocation wrote (−1 before one).</summary>
    public long LastSaved { get; private set; } = -1;

    /// <summary>The step at the end of the best epoch so far (save_best), or null.</summary>
    public long? BestStep { get; private set; }

    /// <summary>The best epoch so far (save_best), or null.</summary>
    public int? BestEpoch { get; private set; }

    private double? BestValue { get; set; }

    /// <summary>
    /// The epoch at whose end (or in which, with --eval-steps) early stopping ended the run, also when the checkpoint resumed
    /// from is that validation's own; or null.
    /// </summary>
    public int? StoppedEarlyAt { get; private set; }

    public void BeforeStep(long step)
    {
        // An epoch's display starts at its first step, or wherever this invocation resumed it.
        if (data.FirstBatchOf(step) == 0 || !_clock.IsRunning)
        {
            _clock.Restart();
            _seenSinceClock = 0;
            progress?.EpochStarted(data.EpochOf(step), data.BatchesPerEpoch);
        }
        if (!_sinceEval.IsRunning)
        {
            _sinceEval.Restart();
            _seenSinceEval = 0;
        }
    }

    public bool AfterStep(StepOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        var epoch = data.EpochOf(outcome.Step);
        log.Append("train", outcome.Step, new JsonObject
        {
            // HF's state.epoch after the step, as its Trainer logs it with each loss: unrounded, as current releases log it.
            ["epoch"] = data.FractionalEpoch(outcome.Step),
            ["loss"] = outcome.Task.Loss,
            ["learning_rate"] = outcome.LearningRate,
            ["grad_norm"] = outcome.GradNorm,
        });
        // HF Trainer's train_loss is the mean of its steps' losses: an epoch's last step of fewer micro-batches (its batches
        // not a multiple of --grad-accum) weighs as much as a full one, as it does in the update.
        _epochLoss += outcome.Task.Loss;
        var first = data.FirstBatchOf(outcome.Step);
        for (var i = 0; i < task.LastLosses.Count; i++)
        {
            _seenSinceClock += task.LastSizes[i];
            _seenSinceEval += task.LastSizes[i];
            progress?.BatchDone(epoch, first + i + 1, task.LastLosses[i], _seenSinceClock / Math.Max(1e-9, _clock.Elapsed.TotalSeconds));
        }
        if (o.EvalSteps is { } every ? outcome.Step % every == 0 || outcome.Step == totalSteps : data.IsEpochEnd(outcome.Step))
        {
            if (o.EvalSteps is null)
            {
                Rank0Work.Run(Communicator, Invariant($"the validation and checkpoint of epoch {epoch}"), () => EndEpoch(epoch, outcome.Step));
            }
            else
            {
                Rank0Work.Run(Communicator, Invariant($"the validation and checkpoint at step {outcome.Step}"), () => EvaluateAtStep(epoch, outcome.Step));
            }
            // After the validation's checkpoint, which a resumed run would continue from had it been stopped there instead.
            // Reached at the run's last step the patience stops nothing (HF's should_training_stop then changes nothing):
            // the run is complete, and its end line must not say it stopped early.
            trainer.Schedule.Plateau?.Synchronize(Communicator);
            if (_early is not null && StopsHere() && outcome.Step < totalSteps)
            {
                StoppedEarlyAt = epoch;
                return false;
            }
        }
        else if (o.SaveSteps > 0 && outcome.Step % o.SaveSteps == 0)
        {
            Rank0Work.Run(Communicator, Invariant($"the checkpoint at step {outcome.Step}"), () => SaveCheckpoint(outcome.Step, null));
        }
        return true;
    }

    /// <summary>Rank 0's early-stopping decision of this epoch, on every rank (only rank 0 validates).</summary>
    private bool StopsHere()
    {
        if (Communicator.WorldSize == 1)
        {
            return _stop;
        }
        using var flag = torch.tensor(new[] { _stop ? 1L : 0L });
        Communicator.Broadcast(flag, 0);
        return flag.item<long>() != 0;
    }

    /// <summary>
    /// Writes <c>checkpoint-STEP</c> (model, optimizer, trainer state with torch's generator, the epoch's validation metrics)
    /// atomically, then removes the checkpoints no longer needed: all but this one and the best epoch's.
    /// </summary>
    public void SaveCheckpoint(long step, MetricsReport? report)
    {
        if (!Writer)
        {
            LastSaved = step;
            return;
        }
        var state = new TrainerState
        {
            GlobalStep = step,
            TotalSteps = totalSteps,
            Settings = settings,
            Data = data.State(step),
            Task = State(),
            Rng = "torch's CPU generator (dropout) saved as torch_rng_state; the shuffle generator as data.shuffle_state",
        };
        state.CaptureTorchRng();
        log.Sync();
        var dir = run.CheckpointPath(step);
        TrainingCheckpoint.Write(dir, writeModel, trainer, state, report is null ? null : tmp => report.Save(Path.Combine(tmp, "metrics.json"), metricsExtra));
        LastCheckpoint = dir;
        LastSaved = step;
        // Keep the newest checkpoint (resume) and the best epoch's (its weights are the ones published at the end).
        run.Prune(new HashSet<long> { step, BestStep ?? step });
    }

    /// <summary>
    /// Continues from a checkpoint's <see cref="TrainerState.Task"/> written at <paramref name="step"/>; sets
    /// <see cref="StoppedEarlyAt"/> when that checkpoint is the one early stopping ended the run at.
    /// </summary>
    public void Restore(JsonObject s, long step)
    {
        ArgumentNullException.ThrowIfNull(s);
        // A checkpoint written before the epoch loss was a mean over steps holds its micro-batches' loss sum instead; inside
        // an epoch every step so far had all --grad-accum micro-batches, so that sum over grad_accum is the steps' sum.
        _epochLoss = Finite(TrainLog.Number(s, EpochLossKey))
            ?? Finite(TrainLog.Number(s, "epoch_loss_sum")) / o.GradAccum
            ?? 0;
        BestStep = Finite(TrainLog.Number(s, "best_step")) is { } b ? (long)b : null;
        BestEpoch = Finite(TrainLog.Number(s, "best_epoch")) is { } e ? (int)e : null;
        // A best epoch whose value was written as null scored NaN (State): it stays NaN so a resumed run ranks as an uninterrupted one.
        BestValue = Finite(TrainLog.Number(s, "best_value")) ?? (BestStep is null ? null : double.NaN);
        _early?.Restore(s);
        trainer.Schedule.Plateau?.Restore(s, Path.Combine(LastCheckpoint ?? "", TrainerState.FileName));
        // Only the validation that stops the run leaves the counter at the patience in a checkpoint (none follows it; at the
        // run's last step it stops nothing): a run killed before publishing its model ends here, as it would have.
        if (_early is { Reached: true } && step < totalSteps)
        {
            StoppedEarlyAt = data.EpochOf(step);
        }
    }

    private JsonObject State()
    {
        var state = new JsonObject
        {
            [EpochLossKey] = _epochLoss,
            // JSON has no NaN: an undefined best value is written as null (Restore reads it back as NaN).
            ["best_value"] = BestValue is { } v ? Finite(v) : null,
            ["best_step"] = BestStep,
            ["best_epoch"] = BestEpoch,
        };
        _early?.Save(state);
        trainer.Schedule.Plateau?.Save(state);
        return state;
    }

    private void EndEpoch(int epoch, long step) =>
        ValidateAndSave("epoch", epoch, step, _epochLoss / data.StepsPerEpoch, _clock, _seenSinceClock, evalEpoch: null);

    /// <summary>
    /// A validation every --eval-steps steps, as HF's _maybe_log_save_evaluate with eval_strategy="steps": the "eval" log line
    /// with the step, HF's fractional epoch and the mean loss of the steps since the previous validation, then a checkpoint.
    /// </summary>
    private void EvaluateAtStep(int epoch, long step)
    {
        var every = (long)o.EvalSteps!.Value;
        // The steps since the previous validation: every one of them, except after the last multiple before the run's end.
        var steps = step - ((step - 1) / every * every);
        ValidateAndSave("eval", epoch, step, _epochLoss / steps, _sinceEval, _seenSinceEval, data.FractionalEpoch(step));
        _sinceEval.Restart();
        _seenSinceEval = 0;
    }

    /// <summary>
    /// Validates (rank 0), offers the result to --save-best and early stopping, logs a <paramref name="kind"/> line, writes
    /// the checkpoint and shows the row: the same for an epoch end and a validation at a step.
    /// </summary>
    /// <param name="kind">The log line's type: "epoch", or "eval" at a step.</param>
    /// <param name="epoch">The epoch (1-based) the validation ends or falls in.</param>
    /// <param name="step">The optimizer step just taken.</param>
    /// <param name="trainLoss">The row's training loss: the mean of its steps' losses.</param>
    /// <param name="clock">Runs since the row's training began: its examples/s leave the validation out, its time does not.</param>
    /// <param name="seen">Examples trained on since then.</param>
    /// <param name="evalEpoch">HF's fractional epoch at a step validation; null at an epoch end, whose line keeps the whole epoch.</param>
    private void ValidateAndSave(string kind, int epoch, long step, double trainLoss, Stopwatch clock, long seen, double? evalEpoch)
    {
        var trainSeconds = clock.Elapsed.TotalSeconds;
        MetricsReport? report = null;
        if (validate is not null && Writer)
        {
            progress?.Validating(epoch);
            report = validate();
        }
        var isBest = Offer(report, step, epoch);
        if (report is not null && trainer.Schedule.Plateau is not null)
        {
            // HF's _evaluate steps reduce_lr_on_plateau with metric_for_best_model, the loss unless --save-best names one,
            // before the checkpoint is saved, which therefore holds the rate the next steps use. Only that schedule reads
            // the metric: a task whose validation has no loss (squad) runs every other schedule without --save-best.
            trainer.Schedule.Step(report.Get(saveBest ?? "loss"));
        }
        var summary = new EpochSummary(epoch, trainLoss, report, clock.Elapsed, seen / Math.Max(1e-9, trainSeconds), isBest, (int)step)
        {
            EvalEpoch = evalEpoch,
        };
        var entry = new JsonObject
        {
            ["epoch"] = evalEpoch is { } fractional ? JsonValue.Create(fractional) : JsonValue.Create(epoch),
            ["train_loss"] = summary.TrainLoss,
            ["elapsed_s"] = Math.Round(summary.Elapsed.TotalSeconds, 3),
            ["examples_per_s"] = Math.Round(summary.ExamplesPerSecond, 2),
            ["best"] = isBest,
        };
        if (report is not null)
        {
            entry["validation"] = report.ToJson()["metrics"]!.DeepClone();
        }
        log.Append(kind, step, entry);
        _epochLoss = 0;
        SaveCheckpoint(step, report);
        progress?.EpochEnded(summary);
    }

    /// <summary>Whether the epoch or step validation that just ran is the one whose weights are kept (always, without save_best).</summary>
    private bool Offer(MetricsReport? report, long step, int epoch)
    {
        if (saveBest is not { } metric || report is null)
        {
            return true;
        }
        var value = report.Get(metric);
        // Against the best before this epoch, as HF's callback sees state.best_metric before this evaluation updates it.
        _stop = _early?.ShouldStop(BestValue, value, _lowerIsBetter) ?? false;
        var isBest = Improves(BestValue, value, _lowerIsBetter);
        if (isBest)
        {
            BestValue = value;
            BestStep = step;
            BestEpoch = epoch;
        }
        return isBest;
    }

    private static double? Finite(double v) => double.IsFinite(v) ? v : null;

    /// <summary>
    /// Whether <paramref name="value"/> beats the best so far. An undefined metric (NaN: Pearson of constant predictions)
    /// ranks below every number: compared as is, a NaN best was never beaten and every later epoch was thrown away.
    /// </summary>
    internal static bool Improves(double? best, double value, bool lowerIsBetter) =>
        best is not { } b || (double.IsNaN(b) && !double.IsNaN(value)) || (lowerIsBetter ? value < b : value > b);
}
