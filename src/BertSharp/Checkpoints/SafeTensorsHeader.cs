namespace BertSharp.Checkpoints;

/// <summary>One tensor's entry in a safetensors header.</summary>
/// <param name="Name">The tensor name (a state-dict key).</param>
/// <param name="DType">The element type.</param>
/// <param name="Shape">Dimensions, outermost first (C order); empty for a scalar.</param>
/// <param name="Begin">Offset of the first byte, relative to the start of the data section.</param>
/// <param name="End">Offset one past the last byte, relative to the start of the data section.</param>
public sealed record SafeTensorsEntry(string Name, SafeTensorsDType DType, long[] Shape, long Begin, long End)
{
    /// <summary>Number of elements (product of <see cref="Shape"/>).</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>Number of data bytes.</summary>
    public long ByteCount => End - Begin;
}

/// <summary>A validated safetensors header.</summary>
/// <param name="Path">The file it was read from.</param>
/// <param name="Tensors">Entries in data order (ascending <see cref="SafeTensorsEntry.Begin"/>).</param>
/// <param name="Metadata">The <c>__metadata__</c> map in file order (empty when absent).</param>
/// <param name="DataStart">Absolute file offset of the data section (8 + header length).</param>
public sealed record SafeTensorsHeader(
    string Path,
    IReadOnlyList<SafeTensorsEntry> Tensors,
    IReadOnlyDictionary<string, string> Metadata,
    long DataStart)
{
    private Dictionary<string, SafeTensorsEntry>? _byName;

    /// <summary>The entry named <paramref name="name"/>, or null (a dictionary lookup: callers look up every tensor).</summary>
    public SafeTensorsEntry? Find(string name)
    {
        _byName ??= Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        return _byName.GetValueOrDefault(name);
    }
}
