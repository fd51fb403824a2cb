using BertSharp.Data;
using BertSharp.Distributed;
using BertSharp.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Training;

/// <summary>
/// Fine-tuning's task adapter: a padded batch of examples through <see cref="BertForSequenceClassification"/> with labels
/// gives HF's loss (cross-entropy over the classes, or MSE for regression); the step's loss is the mean of its
/// micro-batches' losses. In a data-parallel run each rank holds a slice of every micro-batch and returns its mean loss
/// × its examples / the micro-batch's examples on all ranks (one all-reduce of the count), so the ranks' shares add up to
/// the whole micro-batch's mean; the logged losses are summed across the ranks at the end of the step.
/// </summary>
/// <param name="model">The classifier being trained.</param>
/// <param name="communicator">The data-parallel group; one process when null.</param>
/// <param name="exampleDropoutSeed">When set, dropout masks are keyed by (seed, step, example index) (<see cref="ExampleDropout"/>).</param>
/// <param name="labelSmoothing">HF's label_smoothing_factor (<see cref="TrainingOptions.LabelSmoothing"/>); a classifier's only.</param>
public sealed class ClassificationTask(BertForSequenceClassification model, ICommunicator? communicator = null, long? exampleDropoutSeed = null,
    double labelSmoothing = 0)
    : ITrainingTask<TensorBatch>, IMicroBatchLosses
{
    private readonly LossShares _shares = new(communicator);

    /// <summary>Each micro-batch's loss of the last step, in order (over all ranks).</summary>
    public IReadOnlyList<double> LastLosses => _shares.LastLosses;

    /// <summary>Each micro-batch's example count of the last step, in order (over all ranks).</summary>
    public IReadOnlyList<int> LastSizes => _shares.LastSizes;

    /// <summary>
    /// The batch <see cref="Loss"/> takes: the examples at <paramref name="indices"/>, padded to the longest of them, with
    /// their targets as labels — class ids, or float targets when the model regresses (one label or
    /// <c>problem_type</c> regression, as HF's loss decides). For an <see cref="ITrainingData{TBatch}"/> of your own.
    /// </summary>
    /// <param name="examples">Encoded examples (<see cref="ExampleEncoder.Encode"/>), each with its target.</param>
    /// <param name="indices">Which examples form the batch, in row order.</param>
    /// <param name="padId">Id of [PAD] (<c>BertTokenizer.PadId</c>).</param>
    /// <param name="device">Where the tensors go (the CPU when null).</param>
    /// <exception cref="ArgumentException">No index or an index outside <paramref name="examples"/> (<see cref="Batching.Picked"/>), an
    /// example without a target (NaN), or a class id outside the model's labels.</exception>
    /// <exception cref="BertSharpException">The model's problem_type is multi-label, which one target per example cannot express.</exception>
    public TensorBatch Collate(IReadOnlyList<EncodedExample> examples, int[] indices, int padId, Device? device = null)
    {
        // The indices are refused in the words of every other collator before the targets are read through them.
        var rows = Batching.Picked(examples, indices, nameof(examples));
        var config = model.Config;
        if (config.ProblemType == "multi_label_classification")
        {
            throw new BertSharpException(
                "problem_type multi_label_classification: an example holds one target; expected regression or single_label_classification.");
        }
        var regression = config.IsRegression;
        for (var r = 0; r < rows.Length; r++)
        {
            var (i, target) = (indices[r], rows[r].Target);
            if (float.IsNaN(target) || (!regression && (target < 0 || target >= config.NumLabels || target != MathF.Floor(target))))
            {
                throw new ArgumentException(
                    Invariant($"examples[{i}]: target {target}; expected {(regression ? "a number" : Invariant($"a class id in [0, {config.NumLabels})"))}."), nameof(examples));
            }
        }
        return Batching.Build(rows, indices, padId, regression, withLabels: true, device);
    }

    /// <inheritdoc/>
    public Tensor? Loss(TensorBatch batch, MicroBatch micro)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return _shares.Share(batch.Count, batch.Count, () =>
        {
            using var dropout = exampleDropoutSeed is { } seed ? ExampleDropout.Use(seed, micro.Step, [.. batch.Indices.Select(i => (long)i)]) : null;
            var output = model.Forward(new BertInput(batch.InputIds, batch.AttentionMask, batch.TokenTypeIds), batch.Labels);
            return Losses.Trainer(output, batch.Labels, labelSmoothing) ?? throw new InvalidOperationException("training batch without labels");
        });
    }

    /// <inheritdoc/>
    public StepMetrics EndStep() => _shares.EndStep();
}
