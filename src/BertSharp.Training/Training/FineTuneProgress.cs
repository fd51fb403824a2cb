using BertSharp.Evaluation;

namespace BertSharp.Training;

/// <summary>What a fine-tuning run is about to do.</summary>
/// <param name="TrainExamples">Training examples.</param>
/// <param name="ValidationExamples">Validation examples (0 without validation).</param>
/// <param name="Epochs">Epochs.</param>
/// <param name="BatchesPerEpoch">Micro-batches per epoch.</param>
/// <param name="TotalSteps">Optimizer steps over the whole run.</param>
/// <param name="Parameters">Trainable parameters of the model.</param>
/// <param name="Device">Device name.</param>
/// <param name="Labels">Class names (empty for regression).</param>
/// <param name="Truncated">Training examples cut to the maximum length.</param>
/// <param name="Warnings">Things about the data the user should know (e.g. a validation split holding one label only); options are named by their snake_case field names.</param>
/// <param name="StartStep">Optimizer steps already done (a resumed run continues after them; 0 for a new run).</param>
public sealed record FineTunePlan(int TrainExamples, int ValidationExamples, int Epochs, int BatchesPerEpoch, int TotalSteps, long Parameters,
    string Device, IReadOnlyList<string> Labels, int Truncated, IReadOnlyList<string> Warnings, int StartStep = 0)
{
    /// <summary>What the run decided for the user (model load report, max length, lower-casing, validation split), one line each.</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>Peak learning rate (for the diagnosis of a run that collapses to one label).</summary>
    public double LearningRate { get; init; }
}

/// <summary>The summary of one epoch, or with <see cref="TrainingOptions.EvalSteps"/> of one validation at a step.</summary>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="TrainLoss">
/// Mean of the epoch's step losses (each step's the mean of its micro-batches'), as HF Trainer's <c>train_loss</c>; at a step
/// validation the mean of the steps' since the previous one (HF's logged <c>loss</c> with logging_steps = eval_steps).
/// </param>
/// <param name="Validation">Validation metrics (loss included), or null without validation data.</param>
/// <param name="Elapsed">Wall time of the epoch (training and validation).</param>
/// <param name="ExamplesPerSecond">Training throughput.</param>
/// <param name="IsBest">Whether this epoch's weights are the ones kept (always true without save_best).</param>
/// <param name="Step">Optimizer steps done at the end of the epoch.</param>
public sealed record EpochSummary(int Epoch, double TrainLoss, MetricsReport? Validation, TimeSpan Elapsed, double ExamplesPerSecond, bool IsBest, int Step)
{
    /// <summary>
    /// At a validation every <see cref="TrainingOptions.EvalSteps"/> steps: HF's fractional epoch of <see cref="Step"/> (the
    /// epochs' share of the data seen, 0.6667 after 2 of 3 batches); <see cref="Epoch"/> is then the epoch it falls in, and
    /// <see cref="Elapsed"/> the time since the previous validation. Null at an epoch end.
    /// </summary>
    public double? EvalEpoch { get; init; }
}

/// <summary>Receives progress of a run (the CLI draws progress bars and the epoch table from it).</summary>
public interface IFineTuneProgress
{
    /// <summary>
    /// Once, after the data are read and encoded and the model is built, before the first step (also when resuming, with
    /// <see cref="FineTunePlan.StartStep"/> set).
    /// </summary>
    /// <param name="plan">What the run is about to do.</param>
    void Started(FineTunePlan plan);

    /// <summary>Before the first step of an epoch, or of the part of it a resumed run continues.</summary>
    /// <param name="epoch">The epoch, 1-based.</param>
    /// <param name="batches">Micro-batches per epoch (the whole epoch's, also when a resumed run starts inside it).</param>
    void EpochStarted(int epoch, int batches);

    /// <summary>After each micro-batch: the loss of that batch, the running examples/s of this epoch.</summary>
    void BatchDone(int epoch, int batch, double loss, double examplesPerSecond);

    /// <summary>At the end of an epoch, before its validation pass (not called without validation data).</summary>
    /// <param name="epoch">The epoch, 1-based.</param>
    void Validating(int epoch);

    /// <summary>After an epoch's validation and its checkpoint.</summary>
    /// <param name="summary">The epoch's losses, validation metrics, time and whether its weights are the ones kept.</param>
    void EpochEnded(EpochSummary summary);
}
