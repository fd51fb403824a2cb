using TorchSharp;

namespace BertSharp.Checkpoints;

/// <summary>
/// The element types of the safetensors format and how they map to TorchSharp. The <see cref="Rank"/> is the position in
/// the Rust crate's <c>Dtype</c> enum: its writer orders tensor data by that rank (descending) and then by name, and we
/// reproduce the layout byte for byte.
/// </summary>
public sealed record SafeTensorsDType(string Name, int Size, int Rank, torch.ScalarType? ScalarType)
{
    private static readonly SafeTensorsDType[] All =
    [
        new("BOOL", 1, 0, torch.ScalarType.Bool),
        new("U8", 1, 1, torch.ScalarType.Byte),
        new("I8", 1, 2, torch.ScalarType.Int8),
        new("F8_E5M2", 1, 3, null),
        new("F8_E4M3", 1, 4, null),
        new("I16", 2, 5, torch.ScalarType.Int16),
        new("U16", 2, 6, null),
        new("F16", 2, 7, torch.ScalarType.Float16),
        new("BF16", 2, 8, torch.ScalarType.BFloat16),
        new("I32", 4, 9, torch.ScalarType.Int32),
        new("U32", 4, 10, null),
        new("F32", 4, 11, torch.ScalarType.Float32),
        new("F64", 8, 12, torch.ScalarType.Float64),
        new("I64", 8, 13, torch.ScalarType.Int64),
        new("U64", 8, 14, null),
    ];

    /// <summary>The dtype named <paramref name="name"/> in a header (case-sensitive, as the format defines), or null.</summary>
    public static SafeTensorsDType? FromName(string name) => Array.Find(All, d => d.Name == name);

    /// <summary>The safetensors dtype for a TorchSharp element type, or null when the format has none (complex, quantized).</summary>
    public static SafeTensorsDType? FromScalarType(torch.ScalarType type) => Array.Find(All, d => d.ScalarType == type);
}
