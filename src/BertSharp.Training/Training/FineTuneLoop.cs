using System.Text.Json.Nodes;
using BertSharp.Checkpoints;
using BertSharp.Distributed;
using BertSharp.Evaluation;
using BertSharp.Inference;
using BertSharp.IO;
using BertSharp.Modeling;

namespace BertSharp.Training;

/// <summary>A fine-tuning ready to run: model, loop, data and task built, the output and any checkpoint checked.</summary>
/// <typeparam name="TBatch">The task's batch.</typeparam>
internal sealed record FineTuneJob<TBatch>
{
    /// <summary>The run's shared settings.</summary>
    public required TrainingOptions Options { get; init; }

    /// <summary>The task's name (plot title).</summary>
    public required string TaskName { get; init; }

    /// <summary>The validation metric whose best epoch's weights are published, or null for the last step's.</summary>
    public string? SaveBest { get; init; }

    public required BertPreTrainedModel Model { get; init; }

    public required Trainer Trainer { get; init; }

    public required ITrainingData<TBatch> Data { get; init; }

    /// <summary>The epoch plan behind <see cref="Data"/>.</summary>
    public required EpochPlan Plan { get; init; }

    public required ITrainingTask<TBatch> Task { get; init; }

    /// <summary>Writes the model's files (config, weights, tokenizer) into a directory: every checkpoint and the final model.</summary>
    public required Action<string> WriteModel { get; init; }

    /// <summary>Validation metrics of the model now, or null without validation data.</summary>
    public Func<MetricsReport>? Validate { get; init; }

    /// <summary>training_args.json.</summary>
    public required JsonObject Args { get; init; }

    /// <summary>What a resumed run must match.</summary>
    public required JsonObject Settings { get; init; }

    public required long TotalSteps { get; init; }

    /// <summary>The run's kind of output: checkpoints, the log and the plot, and the entries of the finished model directory.</summary>
    public required OutputKind Kind { get; init; }

    /// <summary>What the log's <c>start</c> line of a new run records: examples (training, validation), warmup steps, parameters (all, trainable) and device.</summary>
    public required (int Train, int Validation, int Warmup, long Parameters, long Trainable, string Device) Start { get; init; }

    /// <summary>Extra fields of every metrics.json.</summary>
    public required IReadOnlyDictionary<string, object?> MetricsExtra { get; init; }

    /// <summary>The curves of loss.png.</summary>
    public required IReadOnlyList<LossPlot.Series> PlotSeries { get; init; }

    /// <summary>The checkpoint a resumed run continues from, with its state; null for a new run.</summary>
    public string? Checkpoint { get; init; }

    public TrainerState? State { get; init; }

    public ICommunicator Communicator { get; init; } = new LocalCommunicator();

    public IFineTuneProgress? Progress { get; init; }
}

/// <summary>How a fine-tuning ended.</summary>
/// <param name="OutputDir">The model directory, or the run directory when it stopped early.</param>
/// <param name="Log">The log's entries (resumed steps included; empty on ranks other than 0).</param>
/// <param name="Completed">False when it stopped early.</param>
/// <param name="Checkpoint">The last complete checkpoint of a run that stopped early.</param>
/// <param name="FinalValidation">The published weights' validation metrics (metrics.json), or null.</param>
internal sealed record FineTuneOutcome(string OutputDir, IReadOnlyList<JsonObject> Log, bool Completed, string? Checkpoint, MetricsReport? FinalValidation)
{
    /// <summary>Training loss of every optimizer step.</summary>
    public List<double> StepLosses() => [.. Log.Where(e => TrainLog.TypeOf(e) == "train").Select(e => TrainLog.Number(e, "loss"))];

    /// <summary>Per-epoch (or per step validation) summaries from the log; <paramref name="labels"/> name the classes of the validation reports.</summary>
    public List<EpochSummary> Epochs(IReadOnlyList<string> labels, int validationExamples) =>
    [
        .. Log.Where(e => TrainLog.TypeOf(e) is "epoch" or "eval").Select(e => new EpochSummary(
            // A step validation's epoch is HF's fraction: the epoch it falls in is the next whole number (2 for 1.5, 2 for 2.0).
            (int)Math.Ceiling(TrainLog.Number(e, "epoch")),
            TrainLog.Number(e, "train_loss"),
            e["validation"] is JsonObject v
                ? MetricsReport.FromValues(labels, validationExamples,
                    v.Select(kv => KeyValuePair.Create(kv.Key, kv.Value is null ? double.NaN : TrainLog.Number(v, kv.Key))))
                : null,
            TimeSpan.FromSeconds(TrainLog.Number(e, "elapsed_s")),
            TrainLog.Number(e, "examples_per_s"),
            e["best"]?.GetValue<bool>() ?? true,
            (int)TrainLog.StepOf(e)) { EvalEpoch = TrainLog.TypeOf(e) == "eval" ? TrainLog.Number(e, "epoch") : null }),
    ];
}

/// <summary>
/// The part of every fine-tuning after its model and data are built — sequence classification and the task heads alike:
/// the run directory and log, resuming from a checkpoint, the one training loop (<see cref="Trainer.Run{TBatch}"/>) with
/// <see cref="FineTuneHooks"/> (validation, checkpoints) and <see cref="TrainingHook.StopAfter"/>, and at the end one
/// crash-safe replacement of the run directory by the model directory (model files, training_args.json, metrics.json,
/// train_log.jsonl, loss.png, the model card).
/// </summary>
internal static class FineTuneLoop
{
    /// <summary>Runs <paramref name="job"/>; see <see cref="FineTuner.Run"/> for cancellation and data-parallel behaviour.</summary>
    public static FineTuneOutcome Run<TBatch>(FineTuneJob<TBatch> job, CancellationToken cancel)
    {
        var o = job.Options;
        var comm = job.Communicator;
        var writer = comm.IsWriter();
        var (trainer, state, checkpoint, totalSteps) = (job.Trainer, job.State, job.Checkpoint, job.TotalSteps);
        // Every rank has checked the output directory before rank 0 creates or changes anything in it.
        comm.Barrier();
        // Rank 0 alone creates the run directory: when it cannot (a file in the way, an output it may not write), the others
        // learn it here instead of waiting in the first step's all-reduce until the collective timeout.
        using var opening = Rank0Work.Begin(comm, RunDirectory.OpeningWork);
        var run = writer ? RunDirectory.Open(o.OutputDir, o.Overwrite, job.Kind) : RunDirectory.ReadOnly(o.OutputDir);
        using var log = writer ? run.OpenLog(state?.GlobalStep) : TrainLog.InMemory(run.LogPath);
        opening.End();
        var hooks = new FineTuneHooks(o, job.SaveBest, trainer, job.WriteModel, job.Validate, job.Plan, (IMicroBatchLosses)job.Task, run, log, job.Settings,
            totalSteps, job.MetricsExtra, job.Progress)
        {
            LastCheckpoint = checkpoint,
            Writer = writer,
            Communicator = comm,
        };
        // From the log's first entry to the checkpoint of a run stopped early: a run that fails anywhere in it before a
        // checkpoint is complete has nothing to resume, and is undone as the opening of its log is.
        try
        {
            if (state is null)
            {
                log.Append("start", 0, new JsonObject
                {
                    ["train_examples"] = job.Start.Train,
                    ["validation_examples"] = job.Start.Validation,
                    ["total_steps"] = totalSteps,
                    ["warmup_steps"] = job.Start.Warmup,
                    ["parameters"] = job.Start.Parameters,
                    ["trainable_parameters"] = job.Start.Trainable,
                    ["device"] = job.Start.Device,
                });
            }
            else
            {
                trainer.StepsDone = state.GlobalStep;
                job.Plan.Restore(state.Data);
                hooks.Restore(state.Task, state.GlobalStep);
                // Last: building the model may draw from the generator (initialising weights the checkpoint then overwrites).
                state.RestoreTorchRng(checkpoint!);
                log.Append("resume", state.GlobalStep, new JsonObject { ["checkpoint"] = Path.GetFileName(checkpoint) });
            }
            // A checkpoint that early stopping ended the run at (killed before its model was published) has nothing left to
            // train: the run publishes as it would have, every rank reading that from the same checkpoint.
            if (hooks.StoppedEarlyAt is null)
            {
                trainer.Run(job.Task, job.Data, totalSteps, [hooks, TrainingHook.StopAfter(o.StopAfter)], cancel);
                // Stopped early: keep the work with a checkpoint unless the last step just wrote one (every rank counts the
                // steps saved, so all of them meet here or none).
                if (trainer.StepsDone < totalSteps && hooks.LastSaved != trainer.StepsDone)
                {
                    Rank0Work.Run(comm, Invariant($"the checkpoint at step {trainer.StepsDone}"), () => hooks.SaveCheckpoint(trainer.StepsDone, null));
                }
            }
        }
        catch (Exception e)
        {
            log.Dispose();
            // A run that failed or was cancelled before its first checkpoint has nothing to resume from.
            if (writer && hooks.LastCheckpoint is null)
            {
                run.RemoveUnfinished();
            }
            if (e is OperationCanceledException && cancel.IsCancellationRequested)
            {
                throw new TrainingCancelledException(run.Path, hooks.LastCheckpoint, trainer.StepsDone, totalSteps);
            }
            throw;
        }

        // Early stopping ends a run as its last epoch would: the model directory is published.
        if (trainer.StepsDone < totalSteps && hooks.StoppedEarlyAt is null)
        {
            return new FineTuneOutcome(run.Path, writer ? log.Entries : [], false, hooks.LastCheckpoint, null);
        }

        // Rank 0 writes the model directory alone; the others wait for it, so that none of them returns a directory that
        // was never written.
        var outcome = new FineTuneOutcome(run.Path, [], true, hooks.LastCheckpoint, null);
        Rank0Work.Run(comm, "writing the model directory", () =>
        {
            if (writer)
            {
                outcome = Publish(job, run, log, hooks);
            }
        });
        return outcome;
    }

    /// <summary>
    /// Rank 0's end of a completed run: one crash-safe replacement turns the run directory (checkpoints, live log) into the
    /// model directory holding the published weights (the best epoch's, or the last step's).
    /// </summary>
    private static FineTuneOutcome Publish<TBatch>(FineTuneJob<TBatch> job, RunDirectory run, TrainLog log, FineTuneHooks hooks)
    {
        var o = job.Options;
        // The last step run: the run's last, or that of the epoch early stopping ended it at.
        var lastStep = job.Trainer.StepsDone;
        var keptStep = hooks.BestStep ?? lastStep;
        if (keptStep != lastStep)
        {
            LoadWeights(job.Model, run.CheckpointPath(keptStep));
        }
        var end = new JsonObject { ["steps"] = lastStep, ["best_epoch"] = hooks.BestEpoch ?? job.Plan.EpochOf(lastStep) };
        // Validating at steps, the step names the weights kept (an epoch holds several validations).
        if (o.EvalSteps is not null)
        {
            end["best_step"] = keptStep;
        }
        if (hooks.StoppedEarlyAt is { } stoppedAt)
        {
            var early = new JsonObject
            {
                ["stopped_at_epoch"] = stoppedAt,
                ["patience"] = o.EarlyStoppingPatience,
                ["threshold"] = o.EarlyStoppingThreshold ?? 0,
            };
            if (o.EvalSteps is not null)
            {
                early["stopped_at_step"] = lastStep;
            }
            end["early_stopping"] = early;
        }
        log.Append("end", lastStep, end);
        log.Sync();
        var entries = log.Entries;
        log.Dispose();
        var keptMetrics = Path.Combine(run.CheckpointPath(keptStep), "metrics.json");
        AtomicFile.WriteDirectory(run.Path, tmp =>
        {
            job.WriteModel(tmp);
            TrainingArgsFile.Write(tmp, job.Args);
            if (File.Exists(keptMetrics))
            {
                File.Copy(keptMetrics, Path.Combine(tmp, "metrics.json"));
            }
            File.Copy(run.LogPath, Path.Combine(tmp, TrainLog.FileName));
            // The user's own README.md in the directory (an --overwrite into their folder) stays; the card is not written then.
            if (!run.HoldsUserModelCard)
            {
                // From the files as written: the card says what the directory holds.
                var args = ReadJsonObject(Path.Combine(tmp, TrainingArgsFile.FileName));
                ModelCard.Write(tmp, new ModelCardFacts(Path.GetFileName(run.Path), o.ModelDir, args["task"]!.GetValue<string>(), args,
                    o.WarmupRatio, entries, File.Exists(keptMetrics) ? ReadJsonObject(keptMetrics) : null, ReadJsonObject(Path.Combine(tmp, "config.json")), job.Communicator.WorldSize));
            }
            LossPlot.Save(Path.Combine(tmp, LossPlot.FileName), LossPlot.Title($"{job.TaskName} fine-tuning", entries), entries, job.PlotSeries);
        }, o.Overwrite, job.Kind);
        var finalMetrics = Path.Combine(run.Path, "metrics.json");
        return new FineTuneOutcome(run.Path, entries, true, null, File.Exists(finalMetrics) ? MetricsReport.Load(finalMetrics) : null);
    }

    // A JSON file this run has just written itself (config.json, metrics.json).
    private static JsonObject ReadJsonObject(string path) => (JsonObject)JsonNode.Parse(File.ReadAllText(path))!;

    /// <summary>
    /// Restores a resumed run's optimizer state (its file refused from the header, before any tensor is read) and refuses
    /// a random state <see cref="Run{TBatch}"/> could not restore, so bad input is refused before the plan is printed and
    /// the run directory opened. Nothing between this and <see cref="Run{TBatch}"/> steps the optimizer.
    /// </summary>
    public static void RestoreOptimizer(Trainer trainer, TrainerState? state, string? checkpoint)
    {
        if (state is null || checkpoint is null)
        {
            return;
        }
        OptimizerState.Load(Path.Combine(checkpoint, OptimizerState.FileName), trainer.Optimizer, trainer.OptimizerParameterNames);
        state.CheckTorchRng(checkpoint);
    }

    /// <summary>Overwrites the model's weights with a checkpoint's, every one of them (<see cref="RequiredWeights.CheckWhole"/>).</summary>
    public static void LoadWeights(BertPreTrainedModel model, string checkpoint)
    {
        var file = WeightsFile(checkpoint);
        var weights = SafeTensors.Load(file);
        try
        {
            RequiredWeights.CheckWhole(BertPretrained.LoadStateDict(model, weights, file), model, file);
        }
        finally
        {
            foreach (var t in weights.Values)
            {
                t.Dispose();
            }
        }
    }

    /// <summary>The weights file of a checkpoint (what a refusal of its weights names).</summary>
    public static string WeightsFile(string checkpoint) => Path.Combine(checkpoint, "model.safetensors");
}
