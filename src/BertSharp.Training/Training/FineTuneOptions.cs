using BertSharp.Data;
using BertSharp.Tokenization;

namespace BertSharp.Training;

/// <summary>
/// Everything <see cref="FineTuner"/> needs: the task, the settings every fine-tuning shares (<see cref="Training"/>) and
/// those of sequence classification. Null numeric settings take the task's tutorial default (batch 32 / 16 for IMDb, epochs
/// 4 / 2, max length 128 / 512 bounded by the model's trained length).
/// </summary>
public sealed record FineTuneOptions
{
    /// <summary>Task (format, columns, labels, defaults).</summary>
    public required TaskSpec Task { get; init; }

    /// <summary>The settings shared with every fine-tuning (data, model, optimiser, schedule, checkpoints, device, output).</summary>
    public required TrainingOptions Training { get; init; }

    /// <summary>
    /// Which word pieces a text longer than the maximum length keeps: its start (head, the default), its end (tail) or both
    /// (head+tail, Sun et al. 2019); saved in training_args.json, so evaluation and prediction cut texts the same way.
    /// </summary>
    public TruncationSide TruncationSide { get; init; } = TruncationSide.Head;

    /// <summary>With head+tail: word pieces kept from the start; null = round(kept · 128 / 510) (Sun et al.: 128 of 510).</summary>
    public int? HeadTokens { get; init; }

    /// <summary>
    /// What the classifier reads (<see cref="BertSharp.Modeling.BertConfig.ClassifierPooling"/>, saved in config.json): <c>cls</c>
    /// (the [CLS] token, HF's BERT) or <c>mean</c> (the masked mean of the last hidden state, what sentence-transformers models
    /// were trained with); null keeps the model's setting (cls when it has none).
    /// </summary>
    public string? Pooling { get; init; }

    /// <summary>Keep the weights of the epoch with the best value of this validation metric (loss is minimised, the rest maximised).</summary>
    public string? SaveBest { get; init; }

    /// <summary>Held-out fraction (or count when ≥ 1) of the training data when there is no validation file (<see cref="DefaultValSize"/>).</summary>
    public double ValSize { get; init; } = DefaultValSize;

    /// <summary>
    /// How the validation part is held out when there is no validation file; null = stratified by label for
    /// classification, random for regression (both seeded with <see cref="TrainingOptions.Seed"/>).
    /// </summary>
    public SplitMethod? Split { get; init; }

    /// <summary>The split method used.</summary>
    public SplitMethod EffectiveSplit => Split ?? (Task.Regression ? SplitMethod.Random : SplitMethod.Stratified);

    /// <summary>
    /// Group examples of similar length into the training and validation batches (less padding; the default). False is HF's
    /// group_by_length=False: training batches of a plain shuffle, validation batches in file order.
    /// </summary>
    public bool BucketByLength { get; init; } = true;

    /// <summary>
    /// Dropout masks keyed by (seed, step, example index) instead of torch's generator (<see cref="Modeling.ExampleDropout"/>),
    /// so a run gives the same result on any number of ranks; always on in a data-parallel run.
    /// </summary>
    public bool ExampleDropout { get; init; }

    /// <summary>Epochs the run trains: <see cref="TrainingOptions.Epochs"/>, or the task's <see cref="TaskSpec.DefaultEpochs"/>.</summary>
    public int EffectiveEpochs => Training.Epochs ?? Task.DefaultEpochs;

    /// <summary>Examples per micro-batch over all ranks (a step takes <see cref="TrainingOptions.GradAccum"/> of them): <see cref="TrainingOptions.BatchSize"/>, or the task's <see cref="TaskSpec.DefaultBatchSize"/>.</summary>
    public int EffectiveBatchSize => Training.BatchSize ?? Task.DefaultBatchSize;

    /// <summary>Default <see cref="ValSize"/>: 10 % of the training data held out for validation.</summary>
    public const double DefaultValSize = 0.1;

    /// <summary>Checks ranges (the shared settings by <see cref="TrainingOptions.Validate"/>); errors name the field (<see cref="BertSharpException.Field"/>).</summary>
    public void Validate()
    {
        static string F(string name) => BertSharpException.Field(name);
        // Required members can still be set to null (null!, or a deserialiser): one message naming the field, not a NullReferenceException.
        if (Task is null)
        {
            throw new BertSharpException($"{F("task")}: missing (null); expected a task (TaskSpec.Get).");
        }
        TrainingOptions.Require(Training);
        Training.Validate();
        Training.RequireSaveBestForEarlyStopping(SaveBest);
        if (Pooling is not (null or "cls" or "mean"))
        {
            throw new BertSharpException($"{F("pooling")} {Pooling}: expected cls or mean.");
        }
        if (HeadTokens is { } head && (TruncationSide != TruncationSide.HeadAndTail || head < 0))
        {
            throw new BertSharpException(Invariant($"{F("head_tokens")} {head}: only with {F("truncation_side")} head+tail, and at least 0."));
        }
        if (Training.EvalDataPath is null)
        {
            Data.DataSplit.CheckValSize(ValSize);
        }
    }
}
