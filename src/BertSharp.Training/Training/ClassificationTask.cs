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
public sealed class ClassificationTask(BertForSequenceClassification model, ICommunicator? communicator = null, long? exampleDropoutSeed = null)
    : ITrainingTask<TensorBatch>, IMicroBatchLosses
{
    private readonly LossShares _shares = new(communicator);

    /// <summary>Each micro-batch's loss of the last step, in order (over all ranks).</summary>
    public IReadOnlyList<double> LastLosses => _shares.LastLosses;

    /// <summary>Each micro-batch's example count of the last step, in order (over all ranks).</summary>
    public IReadOnlyList<int> LastSizes => _shares.LastSizes;

    public Tensor? Loss(TensorBatch batch, MicroBatch micro)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return _shares.Share(batch.Count, batch.Count, () =>
        {
            using var dropout = exampleDropoutSeed is { } seed ? ExampleDropout.Use(seed, micro.Step, [.. batch.Indices.Select(i => (long)i)]) : null;
            var output = model.Forward(new BertInput(batch.InputIds, batch.AttentionMask, batch.TokenTypeIds), batch.Labels);
            return output.Loss ?? throw new InvalidOperationException("training batch without labels");
        });
    }

    public StepMetrics EndStep() => _shares.EndStep();
}
