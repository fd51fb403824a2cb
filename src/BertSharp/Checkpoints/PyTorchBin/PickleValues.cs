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

/// <summary>A Python dict / OrderedDict, insertion-ordered. Empty dicts allocate nothing more (a pickle may hold millions).</summary>
internal sealed class PickleDict
{
    private static readonly List<KeyValuePair<object, object?>> Empty = [];

    private Dictionary<object, int>? _index;
    private List<KeyValuePair<object, object?>>? _items;

    public IReadOnlyList<KeyValuePair<object, object?>> Items => _items ?? Empty;

    public void Set(object key, object? value)
    {
        _index ??= [];
        _items ??= [];
        if (_index.TryGetValue(key, out int i))
        {
            _items[i] = new(key, value);
        }
        else
        {
            _index[key] = _items.Count;
            _items.Add(new(key, value));
        }
    }
}

/// <summary>A storage named by a persistent id: the zip entry <c>data/&lt;Key&gt;</c> holding <c>ElementCount</c> elements.</summary>
internal sealed record StorageRef(string Key, ScalarType DType, string ClassName, long ElementCount);

/// <summary>The arguments of <c>torch._utils._rebuild_tensor_v2</c>: a strided view into a storage.</summary>
internal sealed record TensorRef(StorageRef Storage, long Offset, long[] Size, long[] Stride);
