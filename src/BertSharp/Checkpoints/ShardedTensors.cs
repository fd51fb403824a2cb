using static TorchSharp.torch;

namespace BertSharp.Checkpoints;

/// <summary>
/// The shards of a sharded checkpoint as one <see cref="CheckpointTensors"/> (built by <see cref="ShardIndex.Open"/>, which
/// has checked that no two shards hold the same tensor): each tensor is copied from the shard holding it, so a load holds
/// one tensor's bytes beside the model, never a shard or the whole state dict.
/// </summary>
internal sealed class ShardedTensors : CheckpointTensors
{
    private readonly List<CheckpointTensors> _shards;
    private readonly Dictionary<string, CheckpointTensors> _owner = new(StringComparer.Ordinal);

    public ShardedTensors(List<CheckpointTensors> shards)
    {
        _shards = shards;
        foreach (var shard in shards)
        {
            foreach (var key in shard.Keys)
            {
                _owner.Add(key, shard);
            }
        }
        Keys = [.. shards.SelectMany(s => s.Keys)];
    }

    public override IReadOnlyCollection<string> Keys { get; }

    public override long[] Shape(string key) => Owner(key).Shape(key);

    public override ScalarType DType(string key) => Owner(key).DType(key);

    public override void CopyInto(string key, Tensor destination) => Owner(key).CopyInto(key, destination);

    public override void Dispose()
    {
        foreach (var shard in _shards)
        {
            shard.Dispose();
        }
    }

    private CheckpointTensors Owner(string key) =>
        _owner.GetValueOrDefault(key) ?? throw new KeyNotFoundException($"no tensor '{key}' in any shard.");
}
