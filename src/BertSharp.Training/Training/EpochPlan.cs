using System.Globalization;
using System.Text.Json.Nodes;
using BertSharp.Data;

namespace BertSharp.Training;

/// <summary>
/// Which examples each micro-batch of each optimizer step holds: every epoch a fresh plan of batches (shuffled, and bucketed
/// by length, with the seeded <see cref="DeterministicRandom"/>), <c>gradAccum</c> of them per step (the last step of an epoch
/// may have fewer). Its position in a checkpoint is the generator's state before the plan of the epoch the next step is in.
/// </summary>
internal sealed class EpochPlan
{
    private readonly int[] _lengths;
    private readonly int _batchSize;
    private readonly int _gradAccum;
    private readonly bool _bucket;
    private DeterministicRandom _shuffle;
    private ulong _epochStartState;
    private int _epoch;
    private List<int[]>? _plan;

    public EpochPlan(IReadOnlyList<int> lengths, int batchSize, int gradAccum, bool bucketByLength, ulong seed)
    {
        _lengths = [.. lengths];
        _batchSize = batchSize;
        _gradAccum = gradAccum;
        _bucket = bucketByLength;
        _shuffle = new DeterministicRandom(seed ^ 0x5DEECE66DUL);
        // In long: with --batch-size or --grad-accum near int.MaxValue, "n + size - 1" overflowed to a negative step count.
        // A batch larger than the data is one batch per epoch, as many accumulated batches as there are is one step.
        BatchesPerEpoch = (int)((_lengths.Length + (long)batchSize - 1) / batchSize);
        StepsPerEpoch = (int)((BatchesPerEpoch + (long)gradAccum - 1) / gradAccum);
    }

    /// <summary>Batches in every epoch.</summary>
    public int BatchesPerEpoch { get; }

    /// <summary>Optimizer steps in every epoch.</summary>
    public int StepsPerEpoch { get; }

    /// <summary>The 1-based epoch of step <paramref name="step"/>.</summary>
    public int EpochOf(long step) => (int)((step - 1) / StepsPerEpoch) + 1;

    /// <summary>The index in its epoch's plan of the first batch of step <paramref name="step"/>.</summary>
    public int FirstBatchOf(long step) => (int)((step - 1) % StepsPerEpoch) * _gradAccum;

    /// <summary>
    /// The epoch as HF's Trainer counts it after step <paramref name="step"/>: the epochs before plus the share of this
    /// epoch's batches done (its <c>state.epoch</c>, 1.5 halfway through the second).
    /// </summary>
    public double FractionalEpoch(long step) =>
        EpochOf(step) - 1 + (double)Math.Min(FirstBatchOf(step) + _gradAccum, BatchesPerEpoch) / BatchesPerEpoch;

    /// <summary>Whether step <paramref name="step"/> is the last of its epoch.</summary>
    public bool IsEpochEnd(long step) => step % StepsPerEpoch == 0;

    /// <summary>The example indices of each micro-batch of step <paramref name="step"/> (1-based, asked in order).</summary>
    public IEnumerable<int[]> BatchesOf(long step) => PlanOf(EpochOf(step)).Skip(FirstBatchOf(step)).Take(_gradAccum);

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
