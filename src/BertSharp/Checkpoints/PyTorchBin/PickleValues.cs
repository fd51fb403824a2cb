using static TorchSharp.torch;

namespace BertSharp.Checkpoints.PyTorchBin;

/// <summary>What an allowed global stands for. Nothing here is ever looked up by name at run time or invoked.</summary>
internal enum PickleGlobalKind
{
    OrderedDict,
    RebuildTensorV2,
    RebuildTensor,
    RebuildParameter,
    RebuildParameterWithState,
    StorageClass,
}

/// <summary>A reference to one of the few globals a state dict needs.</summary>
internal sealed record PickleGlobal(string Module, string Name, PickleGlobalKind Kind, ScalarType? StorageType = null)
{
    public string FullName => Module + "." + Name;
}

/// <summary>A Python tuple.</summary>
internal sealed record PickleTuple(object?[] Items);

/// <summary>A Python dict / OrderedDict, insertion-ordered.</summary>
internal sealed class PickleDict
{
    private readonly Dictionary<object, int> _index = [];

    public List<KeyValuePair<object, object?>> Items { get; } = [];

    public void Set(object key, object? value)
    {
        if (_index.TryGetValue(key, out int i))
        {
            Items[i] = new(key, value);
        }
        else
        {
            _index[key] = Items.Count;
            Items.Add(new(key, value));
        }
    }
}

/// <summary>A storage named by a persistent id: the zip entry <c>data/&lt;Key&gt;</c> holding <c>ElementCount</c> elements.</summary>
internal sealed record StorageRef(string Key, ScalarType DType, string ClassName, long ElementCount);

/// <summary>The arguments of <c>torch._utils._rebuild_tensor_v2</c>: a strided view into a storage.</summary>
internal sealed record TensorRef(StorageRef Storage, long Offset, long[] Size, long[] Stride);
