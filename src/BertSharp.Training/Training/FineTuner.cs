using System.Text;
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
/// <param name="Completed">False when <see cref="TrainingOptions.StopAfter"/> ended the run early; <see cref="Checkpoint"/> then continues it.</param>
/// <param name="Checkpoint">The last complete checkpoint of a run that stopped early, or null.</param>
public sealed record FineTuneResult(string OutputDir, IReadOnlyList<double> StepLosses, IReadOnlyList<EpochSummary> Epochs, LabelMap Labels,
    MetricsReport? FinalValidation, bool Completed = true, string? Checkpoint = null)
{
    // The lists as values, not type names: a user prints the result of a run.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append(Invariant($"OutputDir = {OutputDir}, StepLosses = {RecordText.List(StepLosses)}, Epochs = {RecordText.List(Epochs)}, ")
            + Invariant($"Labels = {RecordText.List(Labels.Labels)}, FinalValidation = {FinalValidation}, Completed = {Completed}, Checkpoint = {Checkpoint}"));
        return true;
    }
}

/// <summary>
/// Fine-tunes a BERT sequence classifier on a task's data: reads and splits the data, builds or loads the model, and runs
/// the one training loop (<see cref="Trainer.Run{TBatch}"/>: AdamW + the learning-rate schedule + clipping) with a <see cref="ClassificationTask"/>, validating
/// and writing a complete checkpoint (<c>OUTPUT/checkpoint-N</c>) at each epoch end and every
/// <see cref="TrainingOptions.SaveSteps"/> steps. At the end the output directory becomes an HF checkpoint directory (config
/// with labels, weights, tokenizer files, <c>train_log.jsonl</c>, <c>loss.png</c>, <c>metrics.json</c>,
/// <c>training_args.json</c>, the model card <c>README.md</c>) in one crash-safe replacement. Same options and seed on the same CPU give the same weights, and
/// a run stopped (killed, cancelled, <see cref="TrainingOptions.StopAfter"/>) and resumed gives bitwise the same weights as an
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
        ["config.json", "model.safetensors", "training_args.json", "metrics.json", ModelCard.FileName, .. BertPretrained.TokenizerFiles];

    /// <summary>A fine-tuning run, and the model directory it turns into at the end (every task's: <see cref="HeadFineTuner"/> too).</summary>
    internal static readonly OutputKind Kind = RunDirectory.Kind("a fine-tuned model", ModelEntries);

    /// <summary>The section in which rank 0 alone reads the validation data and checks the run's settings (<see cref="Rank0Work"/>).</summary>
    internal const string Rank0Checks = "reading the data and checking the run's settings";

    /// <summary>
    /// The curves of a classification run's <c>loss.png</c>: the step losses, and a validation point per epoch, or per
    /// validation with <paramref name="evalSteps"/> (the tests draw a run's log with these to check the plot's points).
    /// </summary>
    internal static LossPlot.Series[] PlotSeries(double? evalSteps) =>
    [
        new("training loss (per step)", "train", "loss"),
        evalSteps is null
            ? new("validation loss (per epoch)", "epoch", "validation.loss", Emphasize: true)
            : new("validation loss (per evaluation)", "eval", "validation.loss", Emphasize: true),
    ];

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
    /// batch, gradients are summed across the ranks before clipping, and only rank 0 validates and writes the log,
    /// checkpoints and the model directory; the other ranks return a result without files.
    /// </param>
    public static FineTuneResult Run(FineTuneOptions o, IFineTuneProgress? progress = null, CancellationToken cancel = default, ICommunicator? communicator = null)
    {
        ArgumentNullException.ThrowIfNull(o);
        o.Validate();
        var t = o.Training;
        // Everything that can be wrong with the input is checked before anything is written.
        var setup = FineTuneSetup.Begin(t, o.ExampleDropout, o.EffectiveBatchSize, o.Task.DefaultMaxLength, progress, communicator);
        var (comm, writer, _, exampleDropout, device, batchSize, checkpoint, source, length) = setup;
        progress = setup.Progress;
        var maxLength = length.Length;
        // Only rank 0 validates, so only it reads and tokenizes a validation file (a large one took every rank as long as it
        // took rank 0); a bad one stops the job all the same, the others failing with rank 0 at the end of this section.
        using var rank0Checks = Rank0Work.Begin(comm, Rank0Checks);
        var inputs = FineTuneData.Read(o, validates: writer);
        var (train, val) = (inputs.Train, inputs.Validation);
        var labels = ClassifierCheckpoint.ContinuedLabels(source, LabelMap.ForTask(o.Task, train), train, o.Task, out var labelNote);
        var trainTargets = labels.Encode(train);
        var valTargets = val is null ? null : labels.Encode(val, $"that the training data {t.DataPath} does not have");
        var metricNames = labels.IsRegression ? RegressionMetricNames : ClassificationMetricNames;
        t.RequireClassesForLabelSmoothing(o.Task.Name, labels.IsRegression
            ? "regresses a number (MSE), whose float targets HF's LabelSmoother cannot take (its gather needs class ids)"
            : null);
        if (o.SaveBest is { } bestMetric)
        {
            SaveBestMetric.RequireKnown(bestMetric, metricNames);
            // The other ranks have not read a validation file; rank 0's refusal stops them.
            SaveBestMetric.RequireValidation(bestMetric, !writer || val is not null, "a validation split or file");
        }
        t.RequireValidationForEvalSteps(!writer || val is not null, "a validation split or file");
        t.RequireValidationForPlateau(!writer || val is not null, "a validation split or file", o.SaveBest, metricNames);
        var tokenizer = source.Tokenizer;
        var trainEnc = ExampleEncoder.Encode(tokenizer, train.Examples, trainTargets, maxLength, o.TruncationSide, o.HeadTokens);
        var valEnc = val is null ? null : ExampleEncoder.Encode(tokenizer, val.Examples, valTargets, maxLength, o.TruncationSide, o.HeadTokens);
        var data = new EpochBatches(trainEnc, batchSize, t.GradAccum, o.BucketByLength, tokenizer.PadId, labels.IsRegression, device, t.Seed,
            comm.Rank, comm.WorldSize);
        var totalSteps = (long)data.StepsPerEpoch * o.EffectiveEpochs;
        // From here on --eval-steps and --save-steps are whole steps: the run records, compares and counts those.
        t = t.StepsResolvedFor(totalSteps);
        o = o with { Training = t };
        var warmup = t.WarmupFor(totalSteps);
        var args = TrainingArgs.Of(o, warmup, totalSteps, maxLength, exampleDropout);
        var state = checkpoint is null ? null : TrainerState.Load(Path.Combine(checkpoint, TrainerState.FileName));
        var settings = ResumeSettings.CheckedByRank0(comm, () => ResumeSettings.Of(args, t, trainEnc.Length, valEnc?.Length ?? 0, ResumeSettings.Fingerprints(t, source)),
            state, checkpoint, t);
        // Before a check of their own that one of them would have preceded (a resumed run's config), so that a refused run
        // stops with rank 0's error; without the collective timeout, as reading and tokenizing a large validation file can
        // take rank 0 longer than that.
        rank0Checks.End();

        void ApplyPooling(BertConfig config)
        {
            if (o.Pooling is { } pooling)
            {
                config.ClassifierPooling = pooling;
            }
        }
        BertForSequenceClassification model;
        LoadReport? loadReport = null;
        if (checkpoint is null)
        {
            torch.manual_seed(unchecked((long)t.Seed));
            model = ClassifierCheckpoint.CreateForFineTuning(source, labels, out loadReport).Model;
            ApplyPooling(model.Config);
        }
        else
        {
            var expected = ClassifierCheckpoint.FineTuningConfig(source, labels);
            ApplyPooling(expected);
            var saved = ResumeSettings.CheckConfig(expected, checkpoint, source.ConfigOrigin);
            model = BertPretrained.Load<BertForSequenceClassification>(checkpoint, saved, out var resumed);
            try
            {
                RequiredWeights.CheckWhole(resumed, model, FineTuneLoop.WeightsFile(checkpoint));
            }
            catch
            {
                model.Dispose();
                throw;
            }
        }
        using var modelScope = model;
        var (trainerScope, frozen, parameters) = setup.Trainer(model, t, warmup, totalSteps, state);
        using var trainer = trainerScope;
        // Only an example that reached max_length can have been cut (one of exactly max_length was not): the others are not
        // tokenized a second time.
        var (truncated, longest) = ExampleEncoder.CountTruncated(tokenizer,
            train.Examples.Where((_, i) => trainEnc[i].Length >= maxLength).Select(e => (e.Text, e.TextPair)), maxLength);
        var truncation = ModelLength.TruncationWarning(truncated, trainEnc.Length, maxLength, longest, o.TruncationSide, o.HeadTokens,
            o.Task.TextPairColumn is not null);
        progress?.Started(new FineTunePlan(trainEnc.Length, valEnc?.Length ?? 0, o.EffectiveEpochs, data.BatchesPerEpoch, (int)totalSteps, parameters,
            device.ToString(), labels.IsRegression ? [] : labels.Labels, truncated,
            [.. inputs.Warnings, .. length.Warning is { } lw ? [lw] : Array.Empty<string>(), .. truncation is null ? Array.Empty<string>() : [truncation],
                .. ReduceLrOnPlateau.ModeWarning(t.LrSchedulerType, t.LrSchedulerKwargs, o.SaveBest) is { } mw ? [mw] : Array.Empty<string>()],
            (int)(state?.GlobalStep ?? 0))
        {
            Notes = [.. FineTuneNotes.Describe(source, loadReport, length, inputs.Notes, checkpoint), .. FineTuneNotes.Truncation(o, maxLength, truncated),
                .. FineTuneNotes.Pooling(model.Config), .. labelNote is { } ln ? [ln] : Array.Empty<string>(),
                .. frozen is { } counts ? [ParameterFreezing.Describe(counts, t.FreezeEncoder, t.FreezeLayers)] : Array.Empty<string>()],
            LearningRate = t.LearningRate,
        });

        // Checkpoints and the final model record the length the run trained to (model_max_length).
        var savedTokenizer = source.TokenizerTrainedTo(maxLength);
        var outcome = FineTuneLoop.Run(new FineTuneJob<TensorBatch>
        {
            Options = t,
            TaskName = o.Task.Name,
            SaveBest = o.SaveBest,
            Model = model,
            Trainer = trainer,
            Data = data,
            Plan = data.Plan,
            Task = new ClassificationTask(model, comm, exampleDropout ? unchecked((long)t.Seed) : null, t.LabelSmoothing),
            WriteModel = dir => ClassifierCheckpoint.WriteFiles(dir, model, savedTokenizer, labels),
            Validate = valEnc is null ? null : () => ClassifierEvaluation.Evaluate(model, labels, valEnc, t.EffectiveEvalBatchSize(batchSize), tokenizer.PadId, device, t.LabelSmoothing,
                o.BucketByLength).Report,
            Args = args,
            Settings = settings,
            TotalSteps = totalSteps,
            Kind = Kind,
            Start = (trainEnc.Length, valEnc?.Length ?? 0, warmup, parameters, frozen?.Trainable ?? parameters, device.ToString()),
            MetricsExtra = new Dictionary<string, object?> { ["split"] = "validation" },
            PlotSeries = PlotSeries(o.Training.EvalSteps),
            Checkpoint = checkpoint,
            State = state,
            Communicator = comm,
            Progress = progress,
        }, cancel);
        var reportLabels = labels.IsRegression ? [] : labels.Labels;
        return new FineTuneResult(outcome.OutputDir, outcome.StepLosses(), outcome.Epochs(reportLabels, valEnc?.Length ?? 0), labels, outcome.FinalValidation,
            outcome.Completed, outcome.Checkpoint);
    }
}
