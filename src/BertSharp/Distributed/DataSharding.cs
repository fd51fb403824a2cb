
namespace BertSharp.Distributed;

/// <summary>
/// Which examples each rank trains on. All ranks walk the same global batch order (same data, same seed, same shuffle); a
/// global batch is the size one process would use for the whole job, and rank r takes the r-th contiguous slice of it. The
/// slices are disjoint, cover the batch, and differ in size by at most one example (earlier ranks take the extra ones), so
/// n ranks with per-rank batch b see exactly the examples one process with batch n·b sees, step for step. The mean loss
/// of the global batch equals the average of the ranks' mean losses weighted by slice size, which is what
/// <see cref="DataParallel.AverageGradients"/> computes when each rank passes its slice's <c>Count</c>.
/// </summary>
public static class DataSharding
{
    /// <summary>The slice [Start, Start + Count) of a global batch of <paramref name="globalBatchSize"/> examples that a rank takes.</summary>
    public static (int Start, int Count) Slice(int globalBatchSize, int rank, int worldSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(globalBatchSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(worldSize);
        if (rank < 0 || rank >= worldSize)
        {
            throw new ArgumentOutOfRangeException(nameof(rank), rank, Invariant($"rank must be in [0, {worldSize})"));
        }
        var quotient = globalBatchSize / worldSize;
        var remainder = globalBatchSize % worldSize;
        return (rank * quotient + Math.Min(rank, remainder), quotient + (rank < remainder ? 1 : 0));
    }

    /// <summary>This rank's examples of one global batch (see <see cref="Slice"/>), in their global order.</summary>
    public static IReadOnlyList<T> Take<T>(IReadOnlyList<T> globalBatch, int rank, int worldSize)
    {
        ArgumentNullException.ThrowIfNull(globalBatch);
        var (start, count) = Slice(globalBatch.Count, rank, worldSize);
        var slice = new T[count];
        for (var i = 0; i < count; i++)
        {
            slice[i] = globalBatch[start + i];
        }
        return slice;
    }

    /// <summary>Global batch size of a job whose ranks each use <paramref name="perRankBatch"/> examples per step.</summary>
    public static int GlobalBatchSize(int perRankBatch, int worldSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(perRankBatch);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(worldSize);
        return checked(perRankBatch * worldSize);
    }
}
