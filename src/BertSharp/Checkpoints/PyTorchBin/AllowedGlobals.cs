using static TorchSharp.torch;

namespace BertSharp.Checkpoints.PyTorchBin;

/// <summary>
/// The whole vocabulary a <c>torch.save(model.state_dict())</c> pickle may use. A name outside this table is refused
/// when the pickle names it, before anything could use it — the unpickler has no way to reach any other code.
/// </summary>
internal static class AllowedGlobals
{
    private static readonly Dictionary<string, PickleGlobal> Table = Build();

    public static PickleGlobal? Find(string module, string name) => Table.GetValueOrDefault(module + "." + name);

    /// <summary>What the table allows, said from the table itself so the refusal cannot under-report it.</summary>
    public static string Description { get; } =
        "a state dict needs only collections.OrderedDict, torch._utils."
        + string.Join(" / ", Table.Values.Where(g => g.Module == "torch._utils").Select(g => g.Name))
        + " and torch.*Storage";

    private static Dictionary<string, PickleGlobal> Build()
    {
        var list = new List<PickleGlobal>
        {
            new("collections", "OrderedDict", PickleGlobalKind.OrderedDict),
            new("torch._utils", "_rebuild_tensor_v2", PickleGlobalKind.RebuildTensorV2),
            new("torch._utils", "_rebuild_tensor", PickleGlobalKind.RebuildTensor),
            new("torch._utils", "_rebuild_parameter", PickleGlobalKind.RebuildParameter),
            new("torch._utils", "_rebuild_parameter_with_state", PickleGlobalKind.RebuildParameterWithState),
        };
        (string Name, ScalarType Type)[] storages =
        [
            ("FloatStorage", ScalarType.Float32), ("DoubleStorage", ScalarType.Float64), ("HalfStorage", ScalarType.Float16),
            ("BFloat16Storage", ScalarType.BFloat16), ("LongStorage", ScalarType.Int64), ("IntStorage", ScalarType.Int32),
            ("ShortStorage", ScalarType.Int16), ("CharStorage", ScalarType.Int8), ("ByteStorage", ScalarType.Byte),
            ("BoolStorage", ScalarType.Bool),
        ];
        foreach (var (name, type) in storages)
        {
            list.Add(new("torch", name, PickleGlobalKind.StorageClass, type));
        }
        return list.ToDictionary(g => g.FullName, StringComparer.Ordinal);
    }
}
