using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
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
/// <param name="OutputDir">The checkpoint directory written.</param>
/// <param name="StepLosses">Training loss of every optimizer step (mean over its micro-batches).</param>
/// <param name="Epochs">Per-epoch summaries.</param>
/// <param name="Labels">The label map saved with the model.</param>
/// <param name="FinalValidation">Validation metrics of the saved weights, or null without validation data.</param>
public sealed record FineTuneResult(string OutputDir, IReadOnlyList<double> StepLosses, IReadOnlyList<EpochSummary> Epochs, LabelMap Labels,
    MetricsReport? FinalValidation);

/// <summary>
/// Fine-tunes a BERT sequence classifier on a task's data: reads and splits the data, builds or loads the model, trains
/// with AdamW + linear schedule + clipping, validates after each epoch, and writes an HF checkpoint directory (config with
/// labels, weights, tokenizer files, <c>train_log.jsonl</c>, <c>loss.png</c>, <c>metrics.json</c>, <c>training_args.json</c>)
/// atomically. Same options and seed on the same CPU give the same losses.
/// </summary>
public static class FineTuner
{
    /// <summary>Metrics <c>--save-best</c> may name for classification.</summary>
    public static readonly IReadOnlyList<string> ClassificationMetricNames =
        ["accuracy", "f1", "precision", "recall", "macro_f1", "macro_precision", "macro_recall", "mcc", "loss"];

    /// <summary>Metrics <c>--save-best</c> may name for regression.</summary>
    public static readonly IReadOnlyList<string> RegressionMetricNames = ["pearson", "spearman", "mse", "loss"];

    /// <summary>Runs a whole fine-tuning; bad input throws <see cref="BertSharpException"/> before any output exists.</summary>
    public static FineTuneResult Run(FineTuneOptions o, IFineTuneProgress? progress = null, CancellationToken cancel = default)
    {
        o.Validate();
        TorchRuntime.EnsureLoaded();
        var device = TorchRuntime.ResolveDevice(o.Device);
        var batchSize = o.EffectiveBatchSize;

        // Everything that can be wrong with the input is checked before training starts.
        var source = ClassifierCheckpoint.Describe(o.ModelDir, o.ConfigPreset, o.VocabPath, o.Lowercase);
        var length = source.Length(o.MaxLength, o.Task.DefaultMaxLength);
        var maxLength = length.Length;
        var data = FineTuneData.Read(o);
        var (train, val) = (data.Train, data.Validation);
        var labels = LabelMap.ForTask(o.Task, train);
        var trainTargets = labels.Encode(train);
        var valTargets = val is null ? null : labels.Encode(val);
        var metricNames = labels.IsRegression ? RegressionMetricNames : ClassificationMetricNames;
        if (o.SaveBest is { } best)
        {
            if (!metricNames.Contains(best))
            {
                throw new BertSharpException($"--save-best {best}: expected one of {string.Join(", ", metricNames)}.");
            }
            if (val is null)
            {
                throw new BertSharpException($"--save-best {best}: needs validation data (--val-size > 0 or --eval-data).");
            }
        }

        torch.manual_seed(unchecked((long)o.Seed));
        var (model, tokenizer) = ClassifierCheckpoint.CreateForFineTuning(source, labels, out var loadReport);
        using var modelScope = model;
        if (o.Pooling is { } pooling)
        {
            model.Config.ClassifierPooling = pooling;
        }
        model.to(device);
        var trainEnc = ExampleEncoder.Encode(tokenizer, train.Examples, trainTargets, maxLength, o.TruncationSide, o.HeadTokens);
        var valEnc = val is null ? null : ExampleEncoder.Encode(tokenizer, val.Examples, valTargets, maxLength, o.TruncationSide, o.HeadTokens);

        var batchesPerEpoch = (trainEnc.Length + batchSize - 1) / batchSize;
        var stepsPerEpoch = (batchesPerEpoch + o.GradAccum - 1) / o.GradAccum;
        var totalSteps = stepsPerEpoch * o.EffectiveEpochs;
        var warmup = o.WarmupSteps ?? (int)Math.Ceiling(totalSteps * (o.WarmupRatio ?? 0));
        var schedule = new LinearWarmupSchedule(o.LearningRate, warmup, totalSteps);
        using var trainer = new ClassifierTrainer(model, new AdamWOptions(o.LearningRate, 0.9, 0.999, o.Eps, o.WeightDecay), schedule,
            o.MaxGradNorm);
        var parameters = model.NamedParameters().Sum(p => p.Param.numel());
        var truncated = trainEnc.Count(e => e.Length >= maxLength);
        progress?.Started(new FineTunePlan(trainEnc.Length, valEnc?.Length ?? 0, o.EffectiveEpochs, batchesPerEpoch, totalSteps, parameters,
            device.ToString(), labels.IsRegression ? [] : labels.Labels, truncated, [.. data.Warnings, .. length.Warning is { } lw ? [lw] : Array.Empty<string>()])
        {
            Notes = [.. FineTuneNotes.Describe(source, loadReport, length, data.Notes), .. FineTuneNotes.Truncation(o, maxLength, truncated), .. FineTuneNotes.Pooling(model.Config)],
            LearningRate = o.LearningRate,
        });

        var stepLosses = new List<double>();
        var epochs = new List<EpochSummary>();
        MetricsReport? finalValidation = null;
        AtomicFile.WriteDirectory(o.OutputDir, tmp =>
        {
            using var log = new TrainLog(Path.Combine(tmp, "train_log.jsonl"));
            log.Write("start", new JsonObject
            {
                ["train_examples"] = trainEnc.Length,
                ["validation_examples"] = valEnc?.Length ?? 0,
                ["total_steps"] = totalSteps,
                ["warmup_steps"] = warmup,
                ["parameters"] = parameters,
                ["device"] = device.ToString(),
            });
            var lengths = trainEnc.Select(e => e.Length).ToArray();
            var shuffle = new DeterministicRandom(o.Seed ^ 0x5DEECE66DUL);
            Dictionary<string, Tensor>? bestWeights = null;
            double? bestValue = null;
            var lowerIsBetter = o.SaveBest is "loss" or "mse";
            for (var epoch = 1; epoch <= o.EffectiveEpochs; epoch++)
            {
                var clock = Stopwatch.StartNew();
                var plan = Batching.Plan(lengths, batchSize, shuffle, o.BucketByLength);
                progress?.EpochStarted(epoch, plan.Count);
                double epochLoss = 0;
                var seen = 0;
                for (var start = 0; start < plan.Count; start += o.GradAccum)
                {
                    cancel.ThrowIfCancellationRequested();
                    var group = plan.Skip(start).Take(o.GradAccum).ToList();
                    var batches = group.Select(ix => Batching.Collate(trainEnc, ix, tokenizer.PadId, labels.IsRegression, withLabels: true, device)).ToList();
                    double[] losses;
                    try
                    {
                        losses = trainer.Step(batches);
                    }
                    finally
                    {
                        batches.ForEach(b => b.Dispose());
                    }
                    var stepLoss = losses.Average();
                    stepLosses.Add(stepLoss);
                    log.Write("step", new JsonObject
                    {
                        ["epoch"] = epoch,
                        ["step"] = trainer.StepsDone,
                        ["loss"] = stepLoss,
                        ["lr"] = trainer.LastLearningRate,
                        ["grad_norm"] = double.IsFinite(trainer.LastGradNorm) ? trainer.LastGradNorm : null,
                    });
                    for (var i = 0; i < group.Count; i++)
                    {
                        epochLoss += losses[i];
                        seen += group[i].Length;
                        progress?.BatchDone(epoch, start + i + 1, losses[i], seen / Math.Max(1e-9, clock.Elapsed.TotalSeconds));
                    }
                }
                var trainSeconds = clock.Elapsed.TotalSeconds;
                MetricsReport? report = null;
                if (valEnc is not null)
                {
                    progress?.Validating(epoch);
                    report = ClassifierEvaluation.Evaluate(model, labels, valEnc, batchSize, tokenizer.PadId, device).Report;
                }
                var isBest = true;
                if (o.SaveBest is { } metric && report is not null)
                {
                    var value = report.Get(metric);
                    isBest = bestValue is null || (lowerIsBetter ? value < bestValue : value > bestValue);
                    if (isBest)
                    {
                        bestValue = value;
                        DisposeAll(bestWeights);
                        bestWeights = Snapshot(model);
                    }
                }
                if (isBest)
                {
                    finalValidation = report;
                }
                var summary = new EpochSummary(epoch, epochLoss / plan.Count, report, clock.Elapsed, trainEnc.Length / Math.Max(1e-9, trainSeconds), isBest,
                    trainer.StepsDone);
                epochs.Add(summary);
                var entry = new JsonObject
                {
                    ["epoch"] = epoch,
                    ["step"] = trainer.StepsDone,
                    ["train_loss"] = summary.TrainLoss,
                    ["elapsed_s"] = Math.Round(summary.Elapsed.TotalSeconds, 3),
                    ["examples_per_s"] = Math.Round(summary.ExamplesPerSecond, 2),
                    ["best"] = isBest,
                };
                if (report is not null)
                {
                    entry["validation"] = report.ToJson()["metrics"]!.DeepClone();
                }
                log.Write("epoch", entry);
                progress?.EpochEnded(summary);
            }
            if (bestWeights is not null)
            {
                Restore(model, bestWeights);
                DisposeAll(bestWeights);
            }
            ClassifierCheckpoint.SaveInto(tmp, model, source.TokenizerTrainedTo(maxLength), labels);
            AtomicFile.WriteAllText(Path.Combine(tmp, "training_args.json"), TrainingArgs(o, warmup, totalSteps, maxLength).ToJsonString(Indented) + "\n");
            finalValidation?.Save(Path.Combine(tmp, "metrics.json"), new Dictionary<string, object?> { ["split"] = "validation" });
            LossPlot.Save(Path.Combine(tmp, "loss.png"), stepLosses,
                [.. epochs.Where(e => e.Validation is not null).Select(e => (e.Step, e.Validation!.Values.GetValueOrDefault("loss", double.NaN)))],
                $"{o.Task.Name} fine-tuning");
            log.Write("end", new JsonObject { ["steps"] = trainer.StepsDone, ["best_epoch"] = epochs.LastOrDefault(e => e.IsBest)?.Epoch });
        });
        return new FineTuneResult(Path.GetFullPath(o.OutputDir), stepLosses, epochs, labels, finalValidation);
    }

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private static JsonObject TrainingArgs(FineTuneOptions o, int warmup, int totalSteps, int maxLength) => new()
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
        ["epochs"] = o.EffectiveEpochs,
        ["batch_size"] = o.EffectiveBatchSize,
        ["learning_rate"] = o.LearningRate,
        ["adam_epsilon"] = o.Eps,
        ["weight_decay"] = o.WeightDecay,
        ["warmup_steps"] = warmup,
        ["total_steps"] = totalSteps,
        ["max_length"] = maxLength,
        ["truncation_side"] = TruncationSides.Name(o.TruncationSide),
        ["head_tokens"] = o.HeadTokens,
        ["pooling"] = o.Pooling,
        ["gradient_accumulation_steps"] = o.GradAccum,
        ["max_grad_norm"] = o.MaxGradNorm,
        ["seed"] = o.Seed.ToString(CultureInfo.InvariantCulture),
        ["val_size"] = o.EvalDataPath is null ? o.ValSize : null,
        ["split"] = o.EvalDataPath is null ? o.EffectiveSplit.ToString().ToLowerInvariant() : null,
        ["bucket_by_length"] = o.BucketByLength,
        ["save_best"] = o.SaveBest,
    };

    private static Dictionary<string, Tensor> Snapshot(nn.Module model)
    {
        using var noGrad = torch.no_grad();
        return model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
    }

    private static void Restore(nn.Module model, Dictionary<string, Tensor> weights)
    {
        using var noGrad = torch.no_grad();
        foreach (var (name, t) in model.state_dict())
        {
            t.copy_(weights[name]);
        }
    }

    private static void DisposeAll(Dictionary<string, Tensor>? weights)
    {
        if (weights is null)
        {
            return;
        }
        foreach (var t in weights.Values)
        {
            t.Dispose();
        }
    }
}
