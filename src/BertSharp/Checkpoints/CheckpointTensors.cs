using static TorchSharp.torch;

namespace BertSharp.Checkpoints;

/// <summary>
/// The tensors of a checkpoint as <c>BertPretrained.LoadStateDict</c> consumes them: names, shapes and
/// dtypes up front, data copied into a destination one tensor at a time. Either a state dict already in memory, or a
/// single safetensors file read tensor by tensor into the model's parameters, so that a load holds the model and one
/// tensor's bytes at most instead of the model and a whole second copy of it.
/// </summary>
internal abstract class CheckpointTensors : IDisposable
{
    /// <summary>Tensor names, in file order.</summary>
    public abstract IReadOnlyCollection<string> Keys { get; }

    /// <summary>The stored shape of <paramref name="key"/>.</summary>
    public abstract long[] Shape(string key);

    /// <summary>The stored element type of <paramref name="key"/>.</summary>
    public abstract ScalarType DType(string key);

    /// <summary>Copies <paramref name="key"/> into <paramref name="destination"/> (same shape), converting to its dtype.</summary>
    public abstract void CopyInto(string key, Tensor destination);

    /// <inheritdoc/>
    public virtual void Dispose()
    {
    }

    /// <summary>A state dict in memory; the caller keeps ownership of its tensors.</summary>
    public static CheckpointTensors Of(IReadOnlyDictionary<string, Tensor> tensors) => new InMemory(tensors);

    /// <summary>
    /// The checkpoint of <paramref name="pathOrDir"/>: a single safetensors file is read lazily, any other format
    /// (shards, <c>.bin</c>) is loaded whole by <see cref="StateDictSource.Load"/> and owned (disposed) here.
    /// </summary>
    public static CheckpointTensors Open(string pathOrDir)
    {
        var file = StateDictSource.FindWeightsFile(pathOrDir);
        if (!file.EndsWith(".index.json", StringComparison.OrdinalIgnoreCase) && !StateDictSource.IsZip(file))
        {
            return SafeTensorsFile.OpenFile(file);
        }
        return new InMemory(StateDictSource.Load(pathOrDir), owned: true);
    }

    private sealed class InMemory(IReadOnlyDictionary<string, Tensor> tensors, bool owned = false) : CheckpointTensors
    {
        public override IReadOnlyCollection<string> Keys { get; } = [.. tensors.Keys];

        public override long[] Shape(string key) => tensors[key].shape;

        public override ScalarType DType(string key) => tensors[key].dtype;

        public override void CopyInto(string key, Tensor destination) => destination.copy_(tensors[key]);

        public override void Dispose()
        {
            if (owned)
            {
                foreach (var t in tensors.Values)
                {
                    t.Dispose();
                }
            }
        }
    }
}
