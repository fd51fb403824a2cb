using BertSharp.Data;
using BertSharp.Distributed;
using static TorchSharp.torch;

namespace BertSharp.Training;

/// <summary>
/// Fine-tuning's data: every epoch a fresh plan of padded batches (shuffled, and bucketed by length, with the seeded
/// <see cref="DeterministicRandom"/>), <c>gradAccum</c> of them per optimizer step (the last step of an epoch may have
/// fewer). In a data-parallel run each rank collates its slice of every batch. Its position in a checkpoint is the shuffle generator's state before the plan of the epoch the next step is in.
/// </summary>
internal sealed class EpochBatches : ITrainingData<TensorBatch>
{
    private readonly EncodedExample[] _examples;
    private readonly EpochPlan _plan;
    private readonly int _padId;
    private readonly bool _regression;
    private readonly Device _device;
    private readonly int _rank;
    private readonly int _worldSize;

    // rank / worldSize: in a data-parallel run this rank keeps its slice of every global batch (DataSharding.Slice).
    public EpochBatches(EncodedExample[] examples, int batchSize, int gradAccum, bool bucketByLength, int padId, bool regression, Device device, ulong seed,
        int rank = 0, int worldSize = 1)
    {
        _rank = rank;
        _worldSize = worldSize;
        _examples = examples;
        _plan = new EpochPlan([.. examples.Select(e => e.Length)], batchSize, gradAccum, bucketByLength, seed);
        _padId = padId;
        _regression = regression;
        _device = device;
    }

    /// <summary>The epoch arithmetic and shuffle position (what <see cref="FineTuneHooks"/> reads and a checkpoint records).</summary>
    public EpochPlan Plan => _plan;

    /// <summary>Batches in every epoch.</summary>
    public int BatchesPerEpoch => _plan.BatchesPerEpoch;

    /// <summary>Optimizer steps in every epoch.</summary>
    public int StepsPerEpoch => _plan.StepsPerEpoch;

    public IReadOnlyList<Func<TensorBatch>> MicroBatches(long step) =>
        // Every rank plans the same global batches (same seed) and collates only its slice; a slice may be empty.
        [.. _plan.BatchesOf(step).Select(ix => (Func<TensorBatch>)(() =>
        {
            var slice = _worldSize == 1 ? ix : [.. DataSharding.Take(ix, _rank, _worldSize)];
            return slice.Length == 0 ? Batching.Empty(_regression, _device) : Batching.Collate(_examples, slice, _padId, _regression, withLabels: true, _device);
        }))];
}
