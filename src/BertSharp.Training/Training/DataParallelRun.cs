using BertSharp.Distributed;
using static TorchSharp.torch;

namespace BertSharp.Training;

/// <summary>
/// What a data-parallel training run needs beyond the gradient hook: the group, sums of small per-step values across the
/// ranks (example and token counts, the task's metrics), and who writes. With <see cref="LocalCommunicator"/> every
/// operation is the identity and a run behaves (bit for bit) as a single-process one.
/// </summary>
public static class DataParallelRun
{
    /// <summary>Element-wise sums of <paramref name="values"/> over the ranks (float64, one all-reduce); the values themselves in one process.</summary>
    public static double[] Sum(ICommunicator communicator, params double[] values)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        ArgumentNullException.ThrowIfNull(values);
        if (communicator.WorldSize == 1 || values.Length == 0)
        {
            return values;
        }
        using var t = tensor(values, ScalarType.Float64);
        communicator.AllReduce(t, ReduceOp.Sum);
        return t.data<double>().ToArray();
    }

    /// <summary>
    /// Checks that a global batch of <paramref name="batchSize"/> examples gives every rank at least one example (each rank
    /// must have a loss in every full batch); names the field.
    /// </summary>
    public static void CheckBatchSize(ICommunicator communicator, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        if (batchSize < communicator.WorldSize)
        {
            throw new BertSharpException(
                Invariant($"{BertSharpException.Field("batch_size")} {batchSize}: the global batch is split over {communicator.WorldSize} ranks; expected at least {communicator.WorldSize}."));
        }
    }
}
