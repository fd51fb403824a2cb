using System.Text.Json.Nodes;
using BertSharp.Data.Pretraining;
using BertSharp.Distributed;
using static TorchSharp.torch;

namespace BertSharp.Training.Pretraining;

/// <summary>
/// Pre-training's data: the first <c>trainCount</c> instances read in order and wrapped around (epochs), <c>batchSize</c> per
/// micro-batch, optionally re-masked from (seed, position). Its position in a checkpoint is the number of instances consumed.
/// In a data-parallel run every rank walks the same stream and keeps its slice of each micro-batch
/// (<see cref="DataSharding.Slice"/>), so the position counts global instances and does not depend on the number of ranks.
/// </summary>
internal sealed class InstanceStream(PretrainingDataset data, long trainCount, int batchSize, int gradAccum, MaskedLmMasker masker, bool dynamicMasking,
    long seed, Device device, int rank = 0, int worldSize = 1) : ITrainingData<PretrainingBatch>
{
    private IEnumerator<PretrainingInstance>? _it;

    /// <summary>Instances consumed so far; the next micro-batch starts here (modulo the training instances).</summary>
    public long Position { get; private set; }

    /// <summary>
    /// The step's micro-batches. Its instances are read (and re-masked) here, all ranks' included, so that every micro-batch
    /// knows the masked tokens and instances of the whole step: google's loss is one mean over the step's batch, which
    /// weighs a micro-batch by its masked tokens (<see cref="PretrainingBatch.StepMaskedTokens"/>). Collation stays lazy,
    /// inside the trainer's dispose scope of each micro-batch.
    /// </summary>
    public IReadOnlyList<Func<PretrainingBatch>> MicroBatches(long step)
    {
        var (start, count) = DataSharding.Slice(batchSize, rank, worldSize);
        var micro = new List<(List<PretrainingInstance> Instances, List<long> Positions)>(gradAccum);
        long stepMasked = 0;
        for (var m = 0; m < gradAccum; m++)
        {
            var instances = new List<PretrainingInstance>(count);
            var positions = new List<long>(count);
            for (var i = 0; i < batchSize; i++)
            {
                var (position, x) = Next();
                var masked = dynamicMasking ? masker.Remask(x, PretrainingRng.Derive(seed, 0x6D61736B, position)) : x;
                stepMasked += masked.MaskedPositions.Length;
                if (i >= start && i < start + count)
                {
                    instances.Add(masked);
                    positions.Add(position);
                }
            }
            micro.Add((instances, positions));
        }
        var stepInstances = (long)batchSize * gradAccum;
        return [.. micro.Select(b => (Func<PretrainingBatch>)(() => PretrainingBatch.Collate(b.Instances, data.Manifest.PadId, device) with
        {
            Positions = b.Positions,
            StepMaskedTokens = stepMasked,
            StepInstances = stepInstances,
        }))];
    }

    /// <summary>
    /// The epochs trained so far, as HF's Trainer counts its fractional <c>state.epoch</c>: the instances consumed over the
    /// training instances (the stream wraps around instead of ending an epoch with a short batch, so this is the exact share).
    /// </summary>
    public double Epoch => (double)Position / trainCount;

    public JsonObject State() => new() { ["data_position"] = Position };

    public void Restore(JsonObject state)
    {
        var p = TrainLog.Number(state, "data_position");
        if (!(p >= 0))
        {
            throw new BertSharpException($"the trainer state's data position ({state.ToJsonString()}) is not one pre-training writes.");
        }
        Position = (long)p;
        _it?.Dispose();
        _it = null;
    }

    private (long Position, PretrainingInstance Instance) Next()
    {
        var index = Position % trainCount;
        if (_it is null || index == 0)
        {
            _it?.Dispose();
            _it = data.Read(index).GetEnumerator();
        }
        _it.MoveNext();
        return (Position++, _it.Current);
    }
}
