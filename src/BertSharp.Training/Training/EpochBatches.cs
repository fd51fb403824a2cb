using System.Globalization;
using System.Text.Json.Nodes;
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
    private readonly int[] _lengths;
    private readonly int _batchSize;
    private readonly int _gradAccum;
    private readonly bool _bucket;
    private readonly int _padId;
    private readonly bool _regression;
    private readonly Device _device;
    private DeterministicRandom _shuffle;
    private ulong _epochStartState;
    private int _epoch;
    private List<int[]>? _plan;

    private readonly int _rank;
    private readonly int _worldSize;

    // rank / worldSize: in a data-parallel run this rank keeps its slice of every global batch (DataSharding.Slice).
    public EpochBatches(EncodedExample[] examples, int batchSize, int gradAccum, bool bucketByLength, int padId, bool regression, Device device, ulong seed,
        int rank = 0, int worldSize = 1)
    {
        _rank = rank;
        _worldSize = worldSize;
        _examples = examples;
        _lengths = [.. examples.Select(e => e.Length)];
        _batchSize = batchSize;
        _gradAccum = gradAccum;
        _bucket = bucketByLength;
        _padId = padId;
        _regression = regression;
        _device = device;
        _shuffle = new DeterministicRandom(seed ^ 0x5DEECE66DUL);
        BatchesPerEpoch = (examples.Length + batchSize - 1) / batchSize;
        StepsPerEpoch = (BatchesPerEpoch + gradAccum - 1) / gradAccum;
    }

    /// <summary>Batches in every epoch.</summary>
    public int BatchesPerEpoch { get; }

    /// <summary>Optimizer steps in every epoch.</summary>
    public int StepsPerEpoch { get; }

    /// <summary>The 1-based epoch of step <paramref name="step"/>.</summary>
    public int EpochOf(long step) => (int)((step - 1) / StepsPerEpoch) + 1;

    /// <summary>The index in its epoch's plan of the first batch of step <paramref name="step"/>.</summary>
    public int FirstBatchOf(long step) => (int)((step - 1) % StepsPerEpoch) * _gradAccum;

    /// <summary>Whether step <paramref name="step"/> is the last of its epoch.</summary>
    public bool IsEpochEnd(long step) => step % StepsPerEpoch == 0;

    public IReadOnlyList<Func<TensorBatch>> MicroBatches(long step)
    {
        var plan = PlanOf(EpochOf(step));
        var first = FirstBatchOf(step);
        // Every rank plans the same global batches (same seed) and collates only its slice; a slice may be empty.
        return [.. plan.Skip(first).Take(_gradAccum).Select(ix => (Func<TensorBatch>)(() =>
            Batching.Collate(_examples, _worldSize == 1 ? ix : [.. DataSharding.Take(ix, _rank, _worldSize)], _padId, _regression, withLabels: true, _device)))];
    }

    /// <summary>Where the data continues after <paramref name="stepsDone"/> steps.</summary>
    public JsonObject State(long stepsDone)
    {
        var next = EpochOf(stepsDone + 1);
        // Within the current epoch its plan is redrawn from the state before it; at an epoch end the next plan is not drawn yet.
        var state = next == _epoch ? _epochStartState : _shuffle.State;
        return new JsonObject { ["epoch"] = next, ["shuffle_state"] = state.ToString(CultureInfo.InvariantCulture) };
    }

    /// <summary>Continues from a <see cref="State"/>.</summary>
    public void Restore(JsonObject state)
    {
        var epoch = (int)TrainLog.Number(state, "epoch");
        if (epoch < 1 || state["shuffle_state"]?.GetValue<string>() is not { } text
            || !ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var s))
        {
            throw new BertSharpException($"the trainer state's data position ({state.ToJsonString()}) is not one fine-tuning writes.");
        }
        _shuffle = new DeterministicRandom(s);
        _epoch = epoch - 1;
        _plan = null;
    }

    private List<int[]> PlanOf(int epoch)
    {
        while (_plan is null || _epoch < epoch)
        {
            _epochStartState = _shuffle.State;
            _plan = Batching.Plan(_lengths, _batchSize, _shuffle, _bucket);
            _epoch++;
        }
        return _plan;
    }
}
