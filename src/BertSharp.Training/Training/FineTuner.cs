using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using BertSharp.Checkpoints;
using BertSharp.Data;
using BertSharp.Evaluation;
using BertSharp.Inference;
using BertSharp.IO;
using BertSharp.Modeling;
using BertSharp.Runtime;
using BertSharp.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

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
    public static FineTuneResult Run(FineTuneOptions o, IFineTuneProgress? progress = null, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(o);
        o.Validate();
        TorchRuntime.EnsureLoaded();
        var device = TorchRuntime.ResolveDevice(o.Device);
        var maxLength = o.EffectiveMaxLength;
        var batchSize = o.EffectiveBatchSize;

        // Everything that can be wrong with the input is checked before anything is written.
        var outputExisted = Directory.Exists(o.OutputDir);
        var checkpoint = RunDirectory.Check(o.OutputDir, o.Resume, o.Overwrite);
        var source = ClassifierCheckpoint.Describe(o.ModelDir, o.ConfigPreset, o.VocabPath, o.Lowercase);
        if (maxLength > source.Config.MaxPositionEmbeddings)
        {
            throw new BertSharpException(
                $"{BertSharpException.Field("max_length")} {maxLength}: above the model's max_position_embeddings {source.Config.MaxPositionEmbeddings} ({source.ConfigOrigin}).");
        }
        var (train, val) = ReadData(o);
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
        var trainEnc = ExampleEncoder.Encode(tokenizer, train.Examples, trainTargets, maxLength);
        var valEnc = val is null ? null : ExampleEncoder.Encode(tokenizer, val.Examples, valTargets, maxLength);
        var data = new EpochBatches(trainEnc, batchSize, o.GradAccum, o.BucketByLength, tokenizer.PadId, labels.IsRegression, device, o.Seed);
        var totalSteps = (long)data.StepsPerEpoch * o.EffectiveEpochs;
        var warmup = o.WarmupSteps ?? (int)Math.Ceiling(totalSteps * (o.WarmupRatio ?? 0));
        var args = TrainingArgs(o, warmup, totalSteps);
        var settings = ResumeSettings(args, trainEnc.Length, valEnc?.Length ?? 0);
        var state = checkpoint is null ? null : TrainerState.Load(Path.Combine(checkpoint, TrainerState.FileName));
        state?.CheckResumable(settings, checkpoint!);

        BertForSequenceClassification model;
        if (checkpoint is null)
        {
            torch.manual_seed(unchecked((long)o.Seed));
            model = ClassifierCheckpoint.CreateForFineTuning(source, labels).Model;
        }
        else
        {
            model = BertPretrained.Load<BertForSequenceClassification>(checkpoint);
        }
        using var modelScope = model;
        model.to(device);
        using var trainer = new Trainer(model, new OptimizerSettings(o.LearningRate, o.Eps, o.WeightDecay, o.MaxGradNorm, warmup, totalSteps));
        var progressState = new RunProgress(o);
        if (state is not null)
        {
            OptimizerState.Load(Path.Combine(checkpoint!, OptimizerState.FileName), trainer.Optimizer, trainer.OptimizerParameterNames);
            trainer.StepsDone = state.GlobalStep;
            data.Restore(state.Data);
            progressState.Restore(state.Task);
            // Last: loading the model may draw from the generator (initialising weights the checkpoint then overwrites).
            state.RestoreTorchRng(checkpoint!);
        }
        var parameters = model.NamedParameters().Sum(p => p.Param.numel());
        var truncated = trainEnc.Count(e => e.Length >= maxLength);
        progress?.Started(new FineTunePlan(trainEnc.Length, valEnc?.Length ?? 0, o.EffectiveEpochs, data.BatchesPerEpoch, (int)totalSteps, parameters,
            device.ToString(), labels.IsRegression ? [] : labels.Labels, truncated, DataWarnings(o, train, val), (int)trainer.StepsDone));

        var run = RunDirectory.Open(o.OutputDir, o.Overwrite, ModelEntries);
        var task = new ClassificationTask(model);
        using var log = TrainLog.Open(run.LogPath, state?.GlobalStep);
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
            log.Append("resume", state.GlobalStep, new JsonObject { ["checkpoint"] = Path.GetFileName(checkpoint) });
        }

        string? lastCheckpoint = checkpoint;
        long lastSaved = state?.GlobalStep ?? -1;
        void SaveCheckpoint(long step, MetricsReport? report)
        {
            var s = new TrainerState
            {
                GlobalStep = step,
                TotalSteps = totalSteps,
                Settings = settings,
                Data = data.State(step),
                Task = progressState.State(),
                Rng = "torch's CPU generator (dropout) saved as torch_rng_state; the shuffle generator as data.shuffle_state",
            };
            s.CaptureTorchRng();
            log.Sync();
            var dir = run.CheckpointPath(step);
            AtomicFile.WriteDirectory(dir, tmp =>
            {
                ClassifierCheckpoint.WriteFiles(tmp, model, tokenizer, labels);
                OptimizerState.Save(Path.Combine(tmp, OptimizerState.FileName), trainer.Optimizer, trainer.OptimizerParameterNames);
                report?.Save(Path.Combine(tmp, "metrics.json"), new Dictionary<string, object?> { ["split"] = "validation" });
                s.Save(Path.Combine(tmp, TrainerState.FileName)); // last: a checkpoint counts once its state is there
            });
            lastCheckpoint = dir;
            lastSaved = step;
            // Keep the newest checkpoint (resume) and the best epoch's (its weights are the ones saved at the end).
            run.Prune(new HashSet<long> { step, progressState.BestStep ?? step });
        }

        var clock = Stopwatch.StartNew();
        long seenSinceClock = 0;
        var startedHere = false;
        var hooks = new ITrainingHook[]
        {
            new TrainingHook(before: step =>
            {
                // An epoch's display starts at its first step, or wherever this invocation resumed it.
                if (data.FirstBatchOf(step) == 0 || !startedHere)
                {
                    startedHere = true;
                    clock.Restart();
                    seenSinceClock = 0;
                    progress?.EpochStarted(data.EpochOf(step), data.BatchesPerEpoch);
                }
            }, after: outcome =>
            {
                var epoch = data.EpochOf(outcome.Step);
                log.Append("train", outcome.Step, new JsonObject
                {
                    ["epoch"] = epoch,
                    ["loss"] = outcome.Task.Loss,
                    ["learning_rate"] = outcome.LearningRate,
                    ["grad_norm"] = outcome.GradNorm,
                });
                var first = data.FirstBatchOf(outcome.Step);
                for (var i = 0; i < task.LastLosses.Count; i++)
                {
                    progressState.Add(task.LastLosses[i]);
                    seenSinceClock += task.LastSizes[i];
                    progress?.BatchDone(epoch, first + i + 1, task.LastLosses[i], seenSinceClock / Math.Max(1e-9, clock.Elapsed.TotalSeconds));
                }
                if (data.IsEpochEnd(outcome.Step))
                {
                    var trainSeconds = clock.Elapsed.TotalSeconds;
                    MetricsReport? report = null;
                    if (valEnc is not null)
                    {
                        progress?.Validating(epoch);
                        report = ClassifierEvaluation.Evaluate(model, labels, valEnc, batchSize, tokenizer.PadId, device).Report;
                    }
                    var isBest = progressState.Offer(report, outcome.Step, epoch);
                    var summary = new EpochSummary(epoch, progressState.EpochLoss / data.BatchesPerEpoch, report, clock.Elapsed,
                        seenSinceClock / Math.Max(1e-9, trainSeconds), isBest, (int)outcome.Step);
                    var entry = new JsonObject
                    {
                        ["epoch"] = epoch,
                        ["train_loss"] = summary.TrainLoss,
                        ["elapsed_s"] = Math.Round(summary.Elapsed.TotalSeconds, 3),
                        ["examples_per_s"] = Math.Round(summary.ExamplesPerSecond, 2),
                        ["best"] = isBest,
                    };
                    if (report is not null)
                    {
                        entry["validation"] = report.ToJson()["metrics"]!.DeepClone();
                    }
                    log.Append("epoch", outcome.Step, entry);
                    progressState.NextEpoch();
                    SaveCheckpoint(outcome.Step, report);
                    progress?.EpochEnded(summary);
                }
                else if (o.SaveSteps > 0 && outcome.Step % o.SaveSteps == 0)
                {
                    SaveCheckpoint(outcome.Step, null);
                }
                return true;
            }),
            TrainingHook.StopAfter(o.StopAfter),
        };

        try
        {
            trainer.Run(task, data, totalSteps, hooks, cancel);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            log.Dispose();
            ForgetIfNothingSaved(run, lastCheckpoint, outputExisted);
            throw new TrainingCancelledException(run.Path, lastCheckpoint, trainer.StepsDone, totalSteps);
        }
        catch
        {
            log.Dispose();
            ForgetIfNothingSaved(run, lastCheckpoint, outputExisted);
            throw;
        }

        if (trainer.StepsDone < totalSteps)
        {
            // Stopped early: keep the work with a checkpoint unless the last step just wrote one.
            if (lastSaved != trainer.StepsDone)
            {
                SaveCheckpoint(trainer.StepsDone, null);
            }
            return new FineTuneResult(run.Path, StepLosses(log), Epochs(log, labels, valEnc?.Length ?? 0), labels, null, Completed: false, lastCheckpoint);
        }

        // The weights to publish: the best epoch's (its checkpoint was kept) or the last step's.
        var keptStep = progressState.BestStep ?? totalSteps;
        if (keptStep != totalSteps)
        {
            var best = SafeTensors.Load(Path.Combine(run.CheckpointPath(keptStep), "model.safetensors"));
            try
            {
                BertPretrained.LoadStateDict(model, best, run.CheckpointPath(keptStep));
            }
            finally
            {
                foreach (var t in best.Values)
                {
                    t.Dispose();
                }
            }
        }
        log.Append("end", totalSteps, new JsonObject { ["steps"] = totalSteps, ["best_epoch"] = progressState.BestEpoch ?? data.EpochOf(totalSteps) });
        log.Sync();
        var entries = log.Entries.ToList();
        log.Dispose();
        var keptMetrics = Path.Combine(run.CheckpointPath(keptStep), "metrics.json");
        AtomicFile.WriteDirectory(run.Path, tmp =>
        {
            ClassifierCheckpoint.WriteFiles(tmp, model, tokenizer, labels);
            AtomicFile.WriteAllText(Path.Combine(tmp, "training_args.json"), args.ToJsonString(Indented) + "\n");
            if (File.Exists(keptMetrics))
            {
                File.Copy(keptMetrics, Path.Combine(tmp, "metrics.json"));
            }
            File.Copy(run.LogPath, Path.Combine(tmp, TrainLog.FileName));
            LossPlot.Save(Path.Combine(tmp, LossPlot.FileName), LossPlot.Title($"{o.Task.Name} fine-tuning", entries),
                entries, [new("training loss (per step)", "train", "loss"), new("validation loss (per epoch)", "epoch", "validation.loss", Emphasize: true)]);
        }, o.Overwrite);
        var epochs = Epochs(entries, labels, valEnc?.Length ?? 0);
        var final = epochs.LastOrDefault(e => e.IsBest)?.Validation;
        return new FineTuneResult(run.Path, StepLosses(entries), epochs, labels, final);
    }

    /// <summary>A run that failed or was cancelled before its first checkpoint leaves nothing behind in a directory it created.</summary>
    private static void ForgetIfNothingSaved(RunDirectory run, string? lastCheckpoint, bool outputExisted)
    {
        if (lastCheckpoint is null && !outputExisted && Directory.Exists(run.Path))
        {
            Directory.Delete(run.Path, recursive: true);
        }
    }

    private static List<double> StepLosses(TrainLog log) => StepLosses(log.Entries);

    private static List<double> StepLosses(IEnumerable<JsonObject> entries) =>
        [.. entries.Where(e => TrainLog.TypeOf(e) == "train").Select(e => TrainLog.Number(e, "loss"))];

    private static List<EpochSummary> Epochs(TrainLog log, LabelMap labels, int validationExamples) => Epochs(log.Entries, labels, validationExamples);

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

    private static (TextDataset Train, TextDataset? Validation) ReadData(FineTuneOptions o)
    {
        var all = DatasetReader.Read(o.DataPath, o.Task);
        TextDataset train;
        TextDataset? val;
        if (o.EvalDataPath is not null)
        {
            train = all;
            val = DatasetReader.Read(o.EvalDataPath, o.Task);
        }
        else
        {
            (train, val) = DataSplit.TrainValidation(all, o.ValSize, o.ShuffleSplit, o.Seed);
        }
        if (o.MaxTrainExamples is { } mt && train.Count > mt)
        {
            train = train.With([.. train.Examples.Take(mt)]);
        }
        if (o.MaxEvalExamples is { } me && val is not null && val.Count > me)
        {
            val = val.With([.. val.Examples.Take(me)]);
        }
        return (train, val);
    }

    private static List<string> DataWarnings(FineTuneOptions o, TextDataset train, TextDataset? val)
    {
        var warnings = new List<string>();
        if (o.Task.Regression || val is null || val.Count < 2)
        {
            return warnings;
        }
        var valLabels = val.Examples.Select(e => e.Label).Distinct().ToList();
        if (valLabels.Count == 1 && train.Examples.Select(e => e.Label).Distinct().Skip(1).Any())
        {
            warnings.Add(o.EvalDataPath is null && !o.ShuffleSplit
                ? $"the validation split (the last {val.Count} examples of {o.DataPath}) holds only label '{valLabels[0]}': the file looks sorted by label; " +
                  "set shuffle_split for a random split, or give eval_data."
                : $"the validation data holds only label '{valLabels[0]}'; accuracy on it says little.");
        }
        return warnings;
    }

    private static JsonObject TrainingArgs(FineTuneOptions o, int warmup, long totalSteps) => new()
    {
        ["task"] = o.Task.Name,
        ["text_column"] = o.Task.TextColumn,
        ["text_pair_column"] = o.Task.TextPairColumn,
        ["label_column"] = o.Task.LabelColumn,
        ["regression"] = o.Task.Regression,
        ["data"] = Path.GetFullPath(o.DataPath),
        ["eval_data"] = o.EvalDataPath is null ? null : Path.GetFullPath(o.EvalDataPath),
        ["model"] = o.ModelDir,
        ["config"] = o.ConfigPreset,
        ["vocab"] = o.VocabPath is null ? null : Path.GetFullPath(o.VocabPath),
        ["lowercase"] = o.Lowercase,
        ["epochs"] = o.EffectiveEpochs,
        ["batch_size"] = o.EffectiveBatchSize,
        ["learning_rate"] = o.LearningRate,
        ["adam_epsilon"] = o.Eps,
        ["weight_decay"] = o.WeightDecay,
        ["warmup_steps"] = warmup,
        ["total_steps"] = totalSteps,
        ["max_length"] = o.EffectiveMaxLength,
        ["gradient_accumulation_steps"] = o.GradAccum,
        ["max_grad_norm"] = o.MaxGradNorm,
        ["seed"] = o.Seed.ToString(CultureInfo.InvariantCulture),
        ["val_size"] = o.EvalDataPath is null ? o.ValSize : null,
        ["shuffle_split"] = o.ShuffleSplit,
        ["bucket_by_length"] = o.BucketByLength,
        ["save_best"] = o.SaveBest,
    };

    /// <summary>What a resumed run must share with its checkpoint: the training arguments and the data they produced.</summary>
    private static JsonObject ResumeSettings(JsonObject args, int trainExamples, int validationExamples)
    {
        var s = (JsonObject)args.DeepClone();
        s["train_examples"] = trainExamples;
        s["validation_examples"] = validationExamples;
        return s;
    }

    /// <summary>The running values of a fine-tuning that a checkpoint carries: this epoch's loss so far and the best epoch.</summary>
    private sealed class RunProgress(FineTuneOptions o)
    {
        private readonly bool _lowerIsBetter = o.SaveBest is "loss" or "mse";

        public double EpochLoss { get; private set; }

        public double? BestValue { get; private set; }

        public long? BestStep { get; private set; }

        public int? BestEpoch { get; private set; }

        public void Add(double loss) => EpochLoss += loss;

        public void NextEpoch()
        {
            EpochLoss = 0;
        }

        /// <summary>Whether the epoch that just ended is the one whose weights are kept (always, without save_best).</summary>
        public bool Offer(MetricsReport? report, long step, int epoch)
        {
            if (o.SaveBest is not { } metric || report is null)
            {
                return true;
            }
            var value = report.Get(metric);
            var isBest = BestValue is null || (_lowerIsBetter ? value < BestValue : value > BestValue);
            if (isBest)
            {
                BestValue = value;
                BestStep = step;
                BestEpoch = epoch;
            }
            return isBest;
        }

        public JsonObject State() => new()
        {
            ["epoch_loss_sum"] = EpochLoss,
            ["best_value"] = BestValue,
            ["best_step"] = BestStep,
            ["best_epoch"] = BestEpoch,
        };

        public void Restore(JsonObject s)
        {
            EpochLoss = TrainLog.Number(s, "epoch_loss_sum");
            BestValue = Nullable(TrainLog.Number(s, "best_value"));
            BestStep = Nullable(TrainLog.Number(s, "best_step")) is { } b ? (long)b : null;
            BestEpoch = Nullable(TrainLog.Number(s, "best_epoch")) is { } e ? (int)e : null;
            if (!double.IsFinite(EpochLoss))
            {
                EpochLoss = 0;
            }
        }

        private static double? Nullable(double v) => double.IsFinite(v) ? v : null;
    }
}
