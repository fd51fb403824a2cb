using System.Text;
using BertSharp.Distributed;
using BertSharp.Evaluation;
using BertSharp.Inference;
using BertSharp.IO;
using BertSharp.Modeling;
using BertSharp.Runtime;
using TorchSharp;

namespace BertSharp.Training;

/// <summary>The outcome of a task-head fine-tuning.</summary>
/// <param name="OutputDir">The model directory written, or the run directory when the run stopped early.</param>
/// <param name="StepLosses">Training loss of every optimizer step so far, resumed steps included.</param>
/// <param name="Epochs">Per-epoch summaries of the finished epochs.</param>
/// <param name="FinalValidation">Validation metrics of the saved weights, or null without validation data (or when stopped early).</param>
/// <param name="Completed">False when <see cref="TrainingOptions.StopAfter"/> ended the run early; <see cref="Checkpoint"/> then continues it.</param>
/// <param name="Checkpoint">The last complete checkpoint of a run that stopped early, or null.</param>
public sealed record HeadFineTuneResult(string OutputDir, IReadOnlyList<double> StepLosses, IReadOnlyList<EpochSummary> Epochs, MetricsReport? FinalValidation,
    bool Completed = true, string? Checkpoint = null)
{
    // The lists as values, not type names: a user prints the result of a run.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append(Invariant($"OutputDir = {OutputDir}, StepLosses = {RecordText.List(StepLosses)}, Epochs = {RecordText.List(Epochs)}, ")
            + Invariant($"FinalValidation = {FinalValidation}, Completed = {Completed}, Checkpoint = {Checkpoint}"));
        return true;
    }
}

/// <summary>
/// Fine-tunes a token-classification (NER), question-answering or multiple-choice head — the HF example scripts run_ner,
/// run_qa and run_swag — with the one training loop (<see cref="Trainer.Run{TBatch}"/>: AdamW with HF's decay groups,
/// learning-rate schedule, clipping, accumulation) and a <see cref="HeadTrainingTask"/>, through the same run as sequence
/// classification (<see cref="FineTuner"/>): validation on <see cref="TrainingOptions.EvalDataPath"/> and a complete
/// checkpoint (<c>OUTPUT/checkpoint-N</c>) at each epoch end and every <see cref="TrainingOptions.SaveSteps"/> steps; at
/// the end the output directory becomes an HF checkpoint directory (config, weights, tokenizer files,
/// <c>train_log.jsonl</c>, <c>loss.png</c>, <c>metrics.json</c>, <c>training_args.json</c>, the model card <c>README.md</c>) in one
/// crash-safe replacement.
/// Same options and seed on the same CPU give the same weights, and a run stopped and resumed
/// (<see cref="TrainingOptions.Resume"/>) gives bitwise the same weights as an uninterrupted one. Data-parallel like
/// sequence classification: every rank of a group runs the same call on its slice of each global batch.
/// </summary>
public static class HeadFineTuner
{
    /// <summary>Metrics <see cref="HeadFineTuneOptions.SaveBest"/> may name for token classification: seqeval's micro scores, token accuracy, loss.</summary>
    public static readonly IReadOnlyList<string> TokenClassificationMetricNames = ["f1", "precision", "recall", "accuracy", "loss"];

    /// <summary>Metrics <see cref="HeadFineTuneOptions.SaveBest"/> may name for question answering on any SQuAD validation data.</summary>
    public static readonly IReadOnlyList<string> QuestionAnsweringMetricNames = ["exact", "f1"];

    /// <summary>
    /// The further metrics of SQuAD v2.0 validation data: best_exact and best_f1 always, the HasAns_ ones when some question
    /// is answerable and the NoAns_ ones when some is not (as the validation reports them).
    /// </summary>
    public static readonly IReadOnlyList<string> SquadV2MetricNames = ["best_exact", "best_f1", "HasAns_exact", "HasAns_f1", "NoAns_exact", "NoAns_f1"];

    /// <summary>Metrics <see cref="HeadFineTuneOptions.SaveBest"/> may name for multiple choice.</summary>
    public static readonly IReadOnlyList<string> MultipleChoiceMetricNames = ["accuracy", "loss"];

    /// <summary>Every metric <see cref="HeadFineTuneOptions.SaveBest"/> may name for <paramref name="task"/> (for QA the SQuAD v2.0 ones too).</summary>
    public static IReadOnlyList<string> MetricNames(HeadTask task) => task switch
    {
        HeadTask.TokenClassification => TokenClassificationMetricNames,
        HeadTask.QuestionAnswering => [.. QuestionAnsweringMetricNames, .. SquadV2MetricNames],
        _ => MultipleChoiceMetricNames,
    };

    /// <summary>
    /// Runs (or, with <see cref="TrainingOptions.Resume"/>, continues) a fine-tuning; bad input throws
    /// <see cref="BertSharpException"/> before any output exists. Cancellation stops between steps with
    /// <see cref="TrainingCancelledException"/>; the checkpoints written so far stay.
    /// </summary>
    /// <param name="o">The run's settings.</param>
    /// <param name="progress">Receives progress (on rank 0 only in a data-parallel run).</param>
    /// <param name="cancel">Stops the run between steps.</param>
    /// <param name="communicator">
    /// The data-parallel group (null: one process). Every rank runs the same call: each trains on its slice of every global
    /// batch with dropout keyed by example, its loss weighted by what the head averages over (tagged tokens, windows,
    /// questions), gradients are summed across the ranks before clipping, and only rank 0 validates and writes the log,
    /// checkpoints and the model directory; the other ranks return a result without files.
    /// </param>
    public static HeadFineTuneResult Run(HeadFineTuneOptions o, IFineTuneProgress? progress = null, CancellationToken cancel = default, ICommunicator? communicator = null)
    {
        ArgumentNullException.ThrowIfNull(o);
        o.Validate();
        var t = o.Training;
        var setup = FineTuneSetup.Begin(t, o.ExampleDropout, o.EffectiveBatchSize, o.DefaultMaxLength, progress, communicator);
        var (comm, writer, _, exampleDropout, device, batchSize, checkpoint, source, length) = setup;
        progress = setup.Progress;
        var maxLength = length.Length;
        // Only rank 0 validates, so only it reads and tokenizes a validation file; a bad one stops the job all the same, the
        // others failing with rank 0 at the end of this section (after its checks, ResumeSettings.CheckedByRank0).
        using var rank0Checks = Rank0Work.Begin(comm, FineTuner.Rank0Checks);
        HeadRecipe recipe = o.Task switch
        {
            HeadTask.TokenClassification => new TaggingRecipe(o, source, maxLength, validates: writer),
            HeadTask.QuestionAnswering => new QaRecipe(o, source, maxLength, validates: writer),
            _ => new ChoiceRecipe(o, source, maxLength, validates: writer),
        };
        if (o.SaveBest is { } bestMetric)
        {
            SaveBestMetric.RequireKnown(bestMetric, MetricNames(o.Task));
            // The other ranks have not read the validation file; rank 0's refusal stops them.
            if (writer)
            {
                SaveBestMetric.RequireValidation(bestMetric, recipe.ValidationExamples > 0, $"a validation file: {BertSharpException.Field("eval_data")}");
                // SQuAD v1.1 data, or v2.0 data without answerable (unanswerable) questions, lack some of the task's metrics.
                SaveBestMetric.RequireKnown(bestMetric, recipe.ReportedMetrics, $" (those the validation data {t.EvalDataPath} gives)");
            }
        }
        t.RequireValidationForEvalSteps(!writer || recipe.ValidationExamples > 0, $"a validation file: {BertSharpException.Field("eval_data")}");
        t.RequireValidationForPlateau(!writer || recipe.ValidationExamples > 0, $"a validation file: {BertSharpException.Field("eval_data")}", o.SaveBest,
            writer ? recipe.ReportedMetrics : MetricNames(o.Task));
        var data = new ShuffledBatches(recipe.Lengths, batchSize, t.GradAccum, o.BucketByLength, t.Seed, (ix, width) => recipe.Collate(ix, width, device), () => HeadBatch.Empty(device),
            comm.Rank, comm.WorldSize);
        var totalSteps = (long)data.StepsPerEpoch * o.EffectiveEpochs;
        // From here on --eval-steps and --save-steps are whole steps: the run records, compares and counts those.
        t = t.StepsResolvedFor(totalSteps);
        var warmup = t.WarmupFor(totalSteps);
        var taskArgs = recipe.Args();
        if (exampleDropout)
        {
            taskArgs["example_dropout"] = true;
        }
        // A resume with another metric (or none) is refused by name; a checkpoint from before the setting reads as null.
        taskArgs["save_best"] = o.SaveBest;
        // Only when off, so that checkpoints written before the setting existed still resume; bert evaluate reads it too.
        if (!o.BucketByLength)
        {
            taskArgs[TrainingArgs.BucketByLengthKey] = false;
        }
        var args = TrainingArgs.Of(o.TaskName, t, o.EffectiveEpochs, batchSize, maxLength, warmup, totalSteps, taskArgs);
        var state = checkpoint is null ? null : TrainerState.Load(Path.Combine(checkpoint, TrainerState.FileName));
        var settings = ResumeSettings.CheckedByRank0(comm, () => ResumeSettings.Of(args, t, recipe.TrainExamples, recipe.ValidationExamples, ResumeSettings.Fingerprints(t, source)),
            state, checkpoint, t);
        rank0Checks.End();

        // A resumed run builds the same model, then takes the checkpoint's weights (the generator is restored after).
        torch.manual_seed(unchecked((long)t.Seed));
        using var model = recipe.CreateModel(source, out var loadReport);
        if (checkpoint is not null)
        {
            ResumeSettings.CheckConfig(model.Config, checkpoint, source.ConfigOrigin);
            FineTuneLoop.LoadWeights(model, checkpoint);
        }
        var (trainerScope, frozen, parameters) = setup.Trainer(model, t, warmup, totalSteps, state);
        using var trainer = trainerScope;
        var notes = FineTuneNotes.Describe(source, loadReport, length, recipe.Notes, checkpoint).ToList();
        if (frozen is { } counts)
        {
            notes.Add(ParameterFreezing.Describe(counts, t.FreezeEncoder, t.FreezeLayers));
        }
        progress?.Started(new FineTunePlan(recipe.TrainExamples, recipe.ValidationExamples, o.EffectiveEpochs, data.BatchesPerEpoch, (int)totalSteps,
            parameters, device.ToString(), recipe.LabelNames, recipe.Truncated,
            [.. recipe.Warnings, .. length.Warning is { } lw ? [lw] : Array.Empty<string>(),
                .. ModelLength.TruncationWarning(recipe.Truncated, recipe.TrainExamples, maxLength, recipe.Longest, pair: o.Task == HeadTask.MultipleChoice, sideIsOption: false) is { } tw
                    ? [tw] : Array.Empty<string>(),
                .. ReduceLrOnPlateau.ModeWarning(t.LrSchedulerType, t.LrSchedulerKwargs, o.SaveBest) is { } mw ? [mw] : Array.Empty<string>()],
            (int)(state?.GlobalStep ?? 0))
        {
            Notes = notes,
            LearningRate = t.LearningRate,
        });

        // Checkpoints and the final model record the length the run trained to (model_max_length).
        var savedTokenizer = source.TokenizerTrainedTo(maxLength);
        var outcome = FineTuneLoop.Run(new FineTuneJob<HeadBatch>
        {
            Options = t,
            TaskName = o.TaskName,
            SaveBest = o.SaveBest,
            Model = model,
            Trainer = trainer,
            Data = data,
            Plan = data.Plan,
            Task = recipe.Task(model, comm, exampleDropout ? unchecked((long)t.Seed) : null),
            // Frozen parameters are saved like the others; the saved model trains whole when fine-tuned again.
            WriteModel = dir => BertPretrained.WriteFiles(model, dir, new SaveOptions(Tokenizer: savedTokenizer)),
            Validate = recipe.ValidationExamples == 0 ? null : () => recipe.Evaluate(model, t.EffectiveEvalBatchSize(batchSize), device, o.BucketByLength)!,
            Args = args,
            Settings = settings,
            TotalSteps = totalSteps,
            Kind = FineTuner.Kind,
            Start = (recipe.TrainExamples, recipe.ValidationExamples, warmup, parameters, frozen?.Trainable ?? parameters, device.ToString()),
            MetricsExtra = new Dictionary<string, object?> { ["split"] = "validation", ["task"] = o.TaskName },
            PlotSeries = FineTuner.PlotSeries(t.EvalSteps),
            Checkpoint = checkpoint,
            State = state,
            Communicator = comm,
            Progress = progress,
        }, cancel);
        return new HeadFineTuneResult(outcome.OutputDir, outcome.StepLosses(), outcome.Epochs([], recipe.ValidationExamples), outcome.FinalValidation,
            outcome.Completed, outcome.Checkpoint);
    }
}
