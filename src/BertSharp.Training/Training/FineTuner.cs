using System.Text.Json;
using System.Text.Json.Nodes;
using BertSharp.Checkpoints;
using BertSharp.Data;
using BertSharp.Distributed;
using BertSharp.Evaluation;
using BertSharp.Inference;
using BertSharp.IO;
using BertSharp.Modeling;
using BertSharp.Runtime;
using TorchSharp;

namespace BertSharp.Training;

/// <summary>The outcome of a fine-tuning run.</summary>
/// <param name="OutputDir">The model directory written, or the run directory when the run stopped early.</param>
/// <param name="StepLosses">Training loss of every optimizer step so far (mean over its micro-batches), resumed steps included.</param>
/// <param name="Epochs">Per-epoch summaries of the finished epochs.</param>
/// <param name="Labels">The label map saved with the model.</param>
/// <param name="FinalValidation">Validation metrics of the saved weights, or null without validation data (or when stopped early).</param>
/// <param name="Completed">False when <see cref="FineTuneOptions.StopAfter"/> ended the run early; <see cref="Checkpoint"/> then continues it.</param>
/// <param name="Checkpoint">The last complete checkpoint of a run that stopped early, or null.</param>
public sealed record FineTuneResult(string OutputDir, IReadOnlyList<double> StepLosses, IReadOnlyList<EpochSummary> Epochs, LabelMap Labels,
    MetricsReport? FinalValidation, bool Completed = true, string? Checkpoint = null);

/// <summary>
/// Fine-tunes a BERT sequence classifier on a task's data: reads and splits the data, builds or loads the model, and runs
/// the one training loop (<see cref="Trainer.Run{TBatch}"/>: AdamW + linear schedule + clipping) with a <see cref="ClassificationTask"/>, validating
/// and writing a complete checkpoint (<c>OUTPUT/checkpoint-N</c>) at each epoch end and every
/// <see cref="FineTuneOptions.SaveSteps"/> steps. At the end the output directory becomes an HF checkpoint directory (config
/// with labels, weights, tokenizer files, <c>train_log.jsonl</c>, <c>loss.png</c>, <c>metrics.json</c>,
/// <c>training_args.json</c>) in one crash-safe replacement. Same options and seed on the same CPU give the same weights, and
/// a run stopped (killed, cancelled, <see cref="FineTuneOptions.StopAfter"/>) and resumed gives bitwise the same weights as an
/// uninterrupted one: the checkpoint holds the optimizer moments, torch's generator (dropout) and the shuffle position.
/// </summary>
public static class FineTuner
{
    /// <summary>Metrics <see cref="FineTuneOptions.SaveBest"/> may name for classification.</summary>
    public static readonly IReadOnlyList<string> ClassificationMetricNames =
        ["accuracy", "f1", "precision", "recall", "macro_f1", "macro_precision", "macro_recall", "mcc", "loss"];

    /// <summary>Metrics <see cref="FineTuneOptions.SaveBest"/> may name for regression.</summary>
    public static readonly IReadOnlyList<string> RegressionMetricNames = ["pearson", "spearman", "mse", "loss"];

    /// <summary>The entries of a finished output directory (besides checkpoints, the log and the plot).</summary>
    private static readonly string[] ModelEntries =
        ["config.json", "model.safetensors", "training_args.json", "metrics.json", .. BertPretrained.TokenizerFiles];

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>
    /// Runs (or, with <see cref="FineTuneOptions.Resume"/>, continues) a fine-tuning; bad input throws
    /// <see cref="BertSharpException"/> before any output exists. Cancellation stops between steps with
    /// <see cref="TrainingCancelledException"/>; the checkpoints written so far stay.
    /// </summary>
    /// <param name="o">The run's settings.</param>
    /// <param name="progress">Receives progress (on rank 0 only in a data-parallel run).</param>
    /// <param name="cancel">Stops the run between steps.</param>
    /// <param name="communicator">
    /// The data-parallel group (null: one process). Every rank runs the same call: each trains on its slice of every global
    /// batch, gradients are summed across the ranks before clipping, and only rank 0 validates and writes the log,
    /// checkpoints and the model directory; the other ranks return a result without files.
    /// </param>
    public static FineTuneResult Run(FineTuneOptions o, IFineTuneProgress? progress = null, CancellationToken cancel = default, ICommunicator? communicator = null)
    {
        ArgumentNullException.ThrowIfNull(o);
        o.Validate();
        var comm = communicator ?? new LocalCommunicator();
        var writer = comm.IsWriter();
        progress = writer ? progress : null;
        var exampleDropout = o.ExampleDropout || comm.WorldSize > 1;
        TorchRuntime.EnsureLoaded();
        var device = TorchRuntime.ResolveDevice(o.Device);
        var batchSize = o.EffectiveBatchSize;
        DataParallelRun.CheckBatchSize(comm, batchSize);

        // Everything that can be wrong with the input is checked before anything is written.
        var outputExisted = Directory.Exists(o.OutputDir);
        var checkpoint = RunDirectory.Check(o.OutputDir, o.Resume, o.Overwrite);
        var source = ClassifierCheckpoint.Describe(o.ModelDir, o.ConfigPreset, o.VocabPath, o.Lowercase);
        ParameterFreezing.Check(o.FreezeEncoder, o.FreezeLayers, source.Config.NumHiddenLayers);
        var length = source.Length(o.MaxLength, o.Task.DefaultMaxLength);
        var maxLength = length.Length;
        var inputs = FineTuneData.Read(o);
        var (train, val) = (inputs.Train, inputs.Validation);
        var labels = LabelMap.ForTask(o.Task, train);
        var trainTargets = labels.Encode(train);
        var valTargets = val is null ? null : labels.Encode(val);
        var metricNames = labels.IsRegression ? RegressionMetricNames : ClassificationMetricNames;
        if (o.SaveBest is { } bestMetric)
        {
            if (!metricNames.Contains(bestMetric))
            {
                throw new BertSharpException($"{BertSharpException.Field("save_best")} {bestMetric}: expected one of {string.Join(", ", metricNames)}.");
            }
            if (val is null)
            {
                throw new BertSharpException($"{BertSharpException.Field("save_best")} {bestMetric}: needs validation data (a validation split or file).");
            }
        }
        var tokenizer = source.Tokenizer;
        var trainEnc = ExampleEncoder.Encode(tokenizer, train.Examples, trainTargets, maxLength, o.TruncationSide, o.HeadTokens);
        var valEnc = val is null ? null : ExampleEncoder.Encode(tokenizer, val.Examples, valTargets, maxLength, o.TruncationSide, o.HeadTokens);
        var data = new EpochBatches(trainEnc, batchSize, o.GradAccum, o.BucketByLength, tokenizer.PadId, labels.IsRegression, device, o.Seed,
            comm.Rank, comm.WorldSize);
        var totalSteps = (long)data.StepsPerEpoch * o.EffectiveEpochs;
        var warmup = o.WarmupSteps ?? (int)Math.Ceiling(totalSteps * (o.WarmupRatio ?? 0));
        var args = FineTuneArgs.TrainingArgs(o, warmup, totalSteps, maxLength, exampleDropout);
        var settings = FineTuneArgs.ResumeSettings(args, trainEnc.Length, valEnc?.Length ?? 0);
        var state = checkpoint is null ? null : TrainerState.Load(Path.Combine(checkpoint, TrainerState.FileName));
        state?.CheckResumable(settings, checkpoint!);

        BertForSequenceClassification model;
        LoadReport? loadReport = null;
        if (checkpoint is null)
        {
            torch.manual_seed(unchecked((long)o.Seed));
            model = ClassifierCheckpoint.CreateForFineTuning(source, labels, out loadReport).Model;
            if (o.Pooling is { } pooling)
            {
                model.Config.ClassifierPooling = pooling;
            }
        }
        else
        {
            model = BertPretrained.Load<BertForSequenceClassification>(checkpoint);
        }
        using var modelScope = model;
        var frozen = ParameterFreezing.Apply(model, o.FreezeEncoder, o.FreezeLayers);
        model.to(device);
        using var dataParallel = new DataParallel(comm, model.NamedParameters());
        // Every rank built or loaded the same model; rank 0's copy makes sure of it.
        dataParallel.BroadcastParameters();
        using var trainer = new Trainer(model, new OptimizerSettings(o.LearningRate, o.Eps, o.WeightDecay, o.MaxGradNorm, warmup, totalSteps),
            comm.WorldSize > 1 ? new DataParallelGradientSync(dataParallel) : null);
        var parameters = model.NamedParameters().Sum(p => p.Param.numel());
        var truncated = trainEnc.Count(e => e.Length >= maxLength);
        progress?.Started(new FineTunePlan(trainEnc.Length, valEnc?.Length ?? 0, o.EffectiveEpochs, data.BatchesPerEpoch, (int)totalSteps, parameters,
            device.ToString(), labels.IsRegression ? [] : labels.Labels, truncated,
            [.. inputs.Warnings, .. length.Warning is { } lw ? [lw] : Array.Empty<string>()], (int)(state?.GlobalStep ?? 0))
        {
            Notes = [.. FineTuneNotes.Describe(source, loadReport, length, inputs.Notes), .. FineTuneNotes.Truncation(o, maxLength, truncated),
                .. FineTuneNotes.Pooling(model.Config),
                .. frozen is { } counts ? [ParameterFreezing.Describe(counts, o.FreezeEncoder, o.FreezeLayers)] : Array.Empty<string>()],
            LearningRate = o.LearningRate,
        });

        // Every rank has checked the output directory (above) before rank 0 creates or changes anything in it.
        comm.Barrier();
        var run = writer ? RunDirectory.Open(o.OutputDir, o.Overwrite, ModelEntries) : RunDirectory.ReadOnly(o.OutputDir);
        var task = new ClassificationTask(model, comm, exampleDropout ? unchecked((long)o.Seed) : null);
        using var log = writer ? TrainLog.Open(run.LogPath, state?.GlobalStep) : TrainLog.InMemory(run.LogPath);
        // Checkpoints and the final model record the length the run trained to (model_max_length).
        var savedTokenizer = source.TokenizerTrainedTo(maxLength);
        var hooks = new FineTuneHooks(o, trainer, model, savedTokenizer, labels, data, task, valEnc, device, run, log, settings, totalSteps, progress)
        {
            LastCheckpoint = checkpoint,
            Writer = writer,
        };
        if (state is null)
        {
            log.Append("start", 0, new JsonObject
            {
                ["train_examples"] = trainEnc.Length,
                ["validation_examples"] = valEnc?.Length ?? 0,
                ["total_steps"] = totalSteps,
                ["warmup_steps"] = warmup,
                ["parameters"] = parameters,
                ["device"] = device.ToString(),
            });
        }
        else
        {
            OptimizerState.Load(Path.Combine(checkpoint!, OptimizerState.FileName), trainer.Optimizer, trainer.OptimizerParameterNames);
            trainer.StepsDone = state.GlobalStep;
            data.Restore(state.Data);
            hooks.Restore(state.Task);
            // Last: loading the model may draw from the generator (initialising weights the checkpoint then overwrites).
            state.RestoreTorchRng(checkpoint!);
            log.Append("resume", state.GlobalStep, new JsonObject { ["checkpoint"] = Path.GetFileName(checkpoint) });
        }

        try
        {
            trainer.Run(task, data, totalSteps, [hooks, TrainingHook.StopAfter(o.StopAfter)], cancel);
        }
        catch (Exception e)
        {
            log.Dispose();
            // A run that failed or was cancelled before its first checkpoint leaves nothing behind in a directory it created.
            if (writer && hooks.LastCheckpoint is null && !outputExisted && Directory.Exists(run.Path))
            {
                Directory.Delete(run.Path, recursive: true);
            }
            if (e is OperationCanceledException && cancel.IsCancellationRequested)
            {
                throw new TrainingCancelledException(run.Path, hooks.LastCheckpoint, trainer.StepsDone, totalSteps);
            }
            throw;
        }

        if (!writer)
        {
            // Rank 0 writes (and validates); the others only took part in the steps.
            return new FineTuneResult(run.Path, [], [], labels, null, Completed: trainer.StepsDone >= totalSteps, hooks.LastCheckpoint);
        }
        if (trainer.StepsDone < totalSteps)
        {
            // Stopped early: keep the work with a checkpoint unless the last step just wrote one.
            if (hooks.LastSaved != trainer.StepsDone)
            {
                hooks.SaveCheckpoint(trainer.StepsDone, null);
            }
            var sofar = log.Entries;
            return new FineTuneResult(run.Path, StepLosses(sofar), Epochs(sofar, labels, valEnc?.Length ?? 0), labels, null,
                Completed: false, hooks.LastCheckpoint);
        }

        // The weights to publish: the best epoch's (its checkpoint was kept) or the last step's.
        var keptStep = hooks.BestStep ?? totalSteps;
        if (keptStep != totalSteps)
        {
            LoadWeights(model, run.CheckpointPath(keptStep));
        }
        log.Append("end", totalSteps, new JsonObject { ["steps"] = totalSteps, ["best_epoch"] = hooks.BestEpoch ?? data.EpochOf(totalSteps) });
        log.Sync();
        var entries = log.Entries;
        log.Dispose();
        var keptMetrics = Path.Combine(run.CheckpointPath(keptStep), "metrics.json");
        // One crash-safe replacement turns the run directory (checkpoints, live log) into the model directory.
        AtomicFile.WriteDirectory(run.Path, tmp =>
        {
            ClassifierCheckpoint.WriteFiles(tmp, model, savedTokenizer, labels);
            AtomicFile.WriteAllText(Path.Combine(tmp, "training_args.json"), args.ToJsonString(Indented) + "\n");
            if (File.Exists(keptMetrics))
            {
                File.Copy(keptMetrics, Path.Combine(tmp, "metrics.json"));
            }
            File.Copy(run.LogPath, Path.Combine(tmp, TrainLog.FileName));
            LossPlot.Save(Path.Combine(tmp, LossPlot.FileName), LossPlot.Title($"{o.Task.Name} fine-tuning", entries),
                entries, [new("training loss (per step)", "train", "loss"), new("validation loss (per epoch)", "epoch", "validation.loss", Emphasize: true)]);
        }, o.Overwrite);
        var finalMetrics = Path.Combine(run.Path, "metrics.json");
        var final = File.Exists(finalMetrics) ? MetricsReport.Load(finalMetrics) : null;
        return new FineTuneResult(run.Path, StepLosses(entries), Epochs(entries, labels, valEnc?.Length ?? 0), labels, final);
    }

    private static void LoadWeights(BertForSequenceClassification model, string checkpoint)
    {
        var weights = SafeTensors.Load(Path.Combine(checkpoint, "model.safetensors"));
        try
        {
            BertPretrained.LoadStateDict(model, weights, checkpoint);
        }
        finally
        {
            foreach (var t in weights.Values)
            {
                t.Dispose();
            }
        }
    }

    private static List<double> StepLosses(IEnumerable<JsonObject> entries) =>
        [.. entries.Where(e => TrainLog.TypeOf(e) == "train").Select(e => TrainLog.Number(e, "loss"))];

    private static List<EpochSummary> Epochs(IEnumerable<JsonObject> entries, LabelMap labels, int validationExamples) =>
    [
        .. entries.Where(e => TrainLog.TypeOf(e) == "epoch").Select(e => new EpochSummary(
            (int)TrainLog.Number(e, "epoch"),
            TrainLog.Number(e, "train_loss"),
            e["validation"] is JsonObject v
                ? MetricsReport.FromValues(labels.IsRegression ? [] : labels.Labels, validationExamples,
                    v.Select(kv => KeyValuePair.Create(kv.Key, kv.Value is null ? double.NaN : TrainLog.Number(v, kv.Key))))
                : null,
            TimeSpan.FromSeconds(TrainLog.Number(e, "elapsed_s")),
            TrainLog.Number(e, "examples_per_s"),
            e["best"]?.GetValue<bool>() ?? true,
            (int)TrainLog.StepOf(e))),
    ];
}
