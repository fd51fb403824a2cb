using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using BertSharp.Evaluation;
using BertSharp.Inference;
using BertSharp.IO;
using BertSharp.Modeling;
using BertSharp.Runtime;
using TorchSharp;

namespace BertSharp.Training;

/// <summary>The outcome of a task-head fine-tuning.</summary>
/// <param name="OutputDir">The model directory written.</param>
/// <param name="StepLosses">Training loss of every optimizer step.</param>
/// <param name="Epochs">Per-epoch summaries.</param>
/// <param name="FinalValidation">Validation metrics of the saved weights, or null without validation data.</param>
public sealed record HeadFineTuneResult(string OutputDir, IReadOnlyList<double> StepLosses, IReadOnlyList<EpochSummary> Epochs, MetricsReport? FinalValidation);

/// <summary>
/// Fine-tunes a token-classification (NER), question-answering or multiple-choice head — the HF example scripts run_ner,
/// run_qa and run_swag — with the one training loop (<see cref="Trainer.Run{TBatch}"/>: AdamW with HF's decay groups,
/// linear schedule, clipping, accumulation) and a <see cref="HeadTrainingTask"/>. Each epoch ends with validation on
/// <see cref="HeadFineTuneOptions.EvalDataPath"/>; the output directory becomes an HF checkpoint directory (config, weights,
/// tokenizer files, <c>train_log.jsonl</c>, <c>loss.png</c>, <c>metrics.json</c>, <c>training_args.json</c>) in one
/// crash-safe replacement. Same options and seed on the same CPU give the same weights.
/// </summary>
public static class HeadFineTuner
{
    private static readonly string[] ModelEntries =
        ["config.json", "model.safetensors", "training_args.json", "metrics.json", .. BertPretrained.TokenizerFiles];

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Runs a fine-tuning; bad input throws <see cref="BertSharpException"/> before any output exists.</summary>
    public static HeadFineTuneResult Run(HeadFineTuneOptions o, IFineTuneProgress? progress = null, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(o);
        o.Validate();
        TorchRuntime.EnsureLoaded();
        var device = TorchRuntime.ResolveDevice(o.Device);
        var outputExisted = Directory.Exists(o.OutputDir);
        RunDirectory.Check(o.OutputDir, resume: false, o.Overwrite);
        var source = ClassifierCheckpoint.Describe(o.ModelDir, o.ConfigPreset, o.VocabPath, o.Lowercase);
        ParameterFreezing.Check(o.FreezeEncoder, o.FreezeLayers, source.Config.NumHiddenLayers);
        var length = source.Length(o.MaxLength, o.DefaultMaxLength);
        var maxLength = length.Length;
        HeadRecipe recipe = o.Task switch
        {
            HeadTask.TokenClassification => new TaggingRecipe(o, source, maxLength),
            HeadTask.QuestionAnswering => new QaRecipe(o, source, maxLength),
            _ => new ChoiceRecipe(o, source, maxLength),
        };
        var batchSize = o.EffectiveBatchSize;
        var data = new ShuffledBatches(recipe.Lengths, batchSize, o.GradAccum, o.Seed, ix => recipe.Collate(ix, device));
        var totalSteps = (long)data.StepsPerEpoch * o.EffectiveEpochs;
        var warmup = o.WarmupSteps ?? (int)Math.Ceiling(totalSteps * (o.WarmupRatio ?? 0));
        var args = TrainingArgs(o, recipe, warmup, totalSteps, maxLength);

        torch.manual_seed(unchecked((long)o.Seed));
        using var model = recipe.CreateModel(source, out var loadReport);
        var frozen = ParameterFreezing.Apply(model, o.FreezeEncoder, o.FreezeLayers);
        model.to(device);
        using var trainer = new Trainer(model, new OptimizerSettings(o.LearningRate, o.Eps, o.WeightDecay, o.MaxGradNorm, warmup, totalSteps));
        var parameters = model.NamedParameters().Sum(p => p.Param.numel());
        var notes = FineTuneNotes.Describe(source, loadReport, length, recipe.Notes).ToList();
        if (frozen is { } counts)
        {
            notes.Add(ParameterFreezing.Describe(counts, o.FreezeEncoder, o.FreezeLayers));
        }
        progress?.Started(new FineTunePlan(recipe.TrainExamples, recipe.ValidationExamples, o.EffectiveEpochs, data.BatchesPerEpoch, (int)totalSteps,
            parameters, device.ToString(), recipe.LabelNames, recipe.Truncated, length.Warning is { } lw ? [lw] : [])
        {
            Notes = notes,
            LearningRate = o.LearningRate,
        });

        var run = RunDirectory.Open(o.OutputDir, o.Overwrite, ModelEntries);
        var task = recipe.Task(model);
        using var log = TrainLog.Open(run.LogPath, null);
        log.Append("start", 0, new JsonObject
        {
            ["train_examples"] = recipe.TrainExamples,
            ["validation_examples"] = recipe.ValidationExamples,
            ["total_steps"] = totalSteps,
            ["warmup_steps"] = warmup,
            ["parameters"] = parameters,
            ["trainable_parameters"] = frozen?.Trainable ?? parameters,
            ["device"] = device.ToString(),
        });
        var hooks = new HeadHooks(recipe, model, data, task, log, batchSize, device, progress);
        try
        {
            trainer.Run(task, data, totalSteps, [hooks], cancel);
        }
        catch (Exception e)
        {
            log.Dispose();
            // Nothing of a failed or cancelled run stays in a directory it created.
            if (!outputExisted && Directory.Exists(run.Path))
            {
                Directory.Delete(run.Path, recursive: true);
            }
            if (e is OperationCanceledException && cancel.IsCancellationRequested)
            {
                throw new TrainingCancelledException(run.Path, null, trainer.StepsDone, totalSteps);
            }
            throw;
        }
        log.Append("end", totalSteps, new JsonObject { ["steps"] = totalSteps });
        log.Sync();
        var entries = log.Entries;
        log.Dispose();
        var savedTokenizer = source.TokenizerTrainedTo(maxLength);
        AtomicFile.WriteDirectory(run.Path, tmp =>
        {
            // Frozen parameters are saved like the others; the saved model trains whole when fine-tuned again.
            BertPretrained.WriteFiles(model, tmp, new SaveOptions(Tokenizer: savedTokenizer));
            AtomicFile.WriteAllText(Path.Combine(tmp, "training_args.json"), args.ToJsonString(Indented) + "\n");
            hooks.LastValidation?.Save(Path.Combine(tmp, "metrics.json"), new Dictionary<string, object?> { ["split"] = "validation", ["task"] = o.TaskName });
            File.Copy(run.LogPath, Path.Combine(tmp, TrainLog.FileName));
            LossPlot.Save(Path.Combine(tmp, LossPlot.FileName), LossPlot.Title($"{o.TaskName} fine-tuning", entries),
                entries, [new("training loss (per step)", "train", "loss")]);
        }, o.Overwrite);
        return new HeadFineTuneResult(run.Path, hooks.StepLosses, hooks.Epochs, hooks.LastValidation);
    }

    private static JsonObject TrainingArgs(HeadFineTuneOptions o, HeadRecipe recipe, int warmup, long totalSteps, int maxLength)
    {
        var args = new JsonObject
        {
            ["task"] = o.TaskName,
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
            ["max_length"] = maxLength,
            ["gradient_accumulation_steps"] = o.GradAccum,
            ["max_grad_norm"] = o.MaxGradNorm,
            ["seed"] = o.Seed.ToString(CultureInfo.InvariantCulture),
            ["freeze_encoder"] = o.FreezeEncoder,
            ["freeze_layers"] = o.FreezeLayers,
        };
        foreach (var (k, v) in recipe.Args())
        {
            args[k] = v?.DeepClone();
        }
        return args;
    }

    /// <summary>The log line and progress of every step; validation, the epoch's log line and its summary at each epoch end.</summary>
    private sealed class HeadHooks(HeadRecipe recipe, BertPreTrainedModel model, ShuffledBatches data, HeadTrainingTask task, TrainLog log,
        int batchSize, torch.Device device, IFineTuneProgress? progress) : ITrainingHook
    {
        private readonly Stopwatch _clock = new();
        private double _epochLoss;
        private long _seen;

        public List<double> StepLosses { get; } = [];

        public List<EpochSummary> Epochs { get; } = [];

        public MetricsReport? LastValidation { get; private set; }

        public void BeforeStep(long step)
        {
            if ((step - 1) % data.StepsPerEpoch == 0)
            {
                _clock.Restart();
                _seen = 0;
                progress?.EpochStarted(data.EpochOf(step), data.BatchesPerEpoch);
            }
        }

        public bool AfterStep(StepOutcome outcome)
        {
            var epoch = data.EpochOf(outcome.Step);
            StepLosses.Add(outcome.Task.Loss);
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
                _epochLoss += task.LastLosses[i];
                _seen += batchSize;
                progress?.BatchDone(epoch, first + i + 1, task.LastLosses[i],
                    _seen / Math.Max(1e-9, _clock.Elapsed.TotalSeconds));
            }
            if (data.IsEpochEnd(outcome.Step))
            {
                var trainSeconds = _clock.Elapsed.TotalSeconds;
                progress?.Validating(epoch);
                LastValidation = recipe.Evaluate(model, batchSize, device);
                var summary = new EpochSummary(epoch, _epochLoss / data.BatchesPerEpoch, LastValidation, _clock.Elapsed,
                    Math.Min(_seen, recipe.TrainExamples) / Math.Max(1e-9, trainSeconds), true, (int)outcome.Step);
                var entry = new JsonObject
                {
                    ["epoch"] = epoch,
                    ["train_loss"] = summary.TrainLoss,
                    ["elapsed_s"] = Math.Round(summary.Elapsed.TotalSeconds, 3),
                };
                if (LastValidation is not null)
                {
                    entry["validation"] = LastValidation.ToJson()["metrics"]!.DeepClone();
                }
                log.Append("epoch", outcome.Step, entry);
                Epochs.Add(summary);
                _epochLoss = 0;
                progress?.EpochEnded(summary);
            }
            return true;
        }
    }
}
