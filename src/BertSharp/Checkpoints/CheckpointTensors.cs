using static TorchSharp.torch;

namespace BertSharp.Checkpoints;

/// <summary>
/// The tensors of a checkpoint as <c>BertPretrained.LoadStateDict</c> consumes them: names, shapes and
/// dtypes up front, data copied into a destination one tensor at a time. Either a state dict already in memory, or
/// checkpoint files read tensor by tensor into the model's parameters, so that a load holds the model and one tensor's
/// (or one storage's) bytes at most instead of the model and a whole second copy of it.
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

    /// <summary>A state dict in memory, disposed here when <paramref name="owned"/>, else left to the caller.</summary>
    public static CheckpointTensors Of(IReadOnlyDictionary<string, Tensor> tensors, bool owned = false) => new InMemory(tensors, owned);

    /// <summary>
    /// The checkpoint of <paramref name="pathOrDir"/>, read lazily whatever its format: a safetensors file, a torch zip
    /// <c>.bin</c>, or the shards of an index one file at a time (only a legacy torch &lt; 1.6 file is loaded whole).
    /// </summary>
    public static CheckpointTensors Open(string pathOrDir)
    {
        var file = StateDictSource.FindWeightsFile(pathOrDir);
        return file.EndsWith(".index.json", StringComparison.OrdinalIgnoreCase) ? ShardIndex.Read(file).Open(OpenFile) : OpenFile(file);
    }

    private static CheckpointTensors OpenFile(string file) =>
        StateDictSource.IsZip(file) ? PyTorchBinReader.OpenTensors(file) : SafeTensorsFile.OpenFile(file);

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
