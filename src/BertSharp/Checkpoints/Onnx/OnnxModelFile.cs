using System.Globalization;
using BertSharp.Modeling;
using Google.Protobuf;
using Onnx;

namespace BertSharp.Checkpoints.Onnx;

/// <summary>
/// Reads ONNX model files (<c>ModelProto</c> protobuf, parsed by Google.Protobuf through OnnxSharp's generated classes),
/// with tensors stored inline or in ONNX external-data files beside the model.
/// </summary>
internal static class OnnxModelFile
{
    /// <summary>
    /// Parses <paramref name="path"/>. A file that is not an ONNX model, or a truncated one, fails with a one-line
    /// <see cref="BertSharpException"/> naming the file.
    /// </summary>
    public static ModelProto Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new BertSharpException($"{path}: file not found; expected an ONNX model (.onnx).");
        }
        using var fs = File.OpenRead(path);
        return Parse(fs, path);
    }

    /// <summary>Parses an ONNX model from a stream; <paramref name="source"/> names it in errors.</summary>
    public static ModelProto Parse(Stream stream, string source)
    {
        try
        {
            return Checked(ModelProto.Parser.ParseFrom(stream), source);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw Refusal(e, source);
        }
    }

    /// <summary>Parses an ONNX model from bytes in memory (an assembly's mapped resource); <paramref name="source"/> names it in errors.</summary>
    public static ModelProto Parse(ReadOnlySpan<byte> bytes, string source)
    {
        try
        {
            return Checked(ModelProto.Parser.ParseFrom(bytes), source);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw Refusal(e, source);
        }
    }

    private static BertSharpException Refusal(InvalidProtocolBufferException e, string source)
    {
        var what = e.Message.Contains("ended unexpectedly", StringComparison.Ordinal) ? "truncated ONNX protobuf" : "not an ONNX protobuf";
        return new BertSharpException($"{source}: {what} ({e.Message.TrimEnd('.')}); expected an ONNX ModelProto as torch.onnx.export writes it.", e);
    }

    private static ModelProto Checked(ModelProto model, string source)
    {
        if (model.Graph is null || model.Graph.Node.Count == 0 || model.IrVersion <= 0)
        {
            throw new BertSharpException($"{source}: not an ONNX model (no graph or IR version); expected an ONNX ModelProto as torch.onnx.export writes it.");
        }
        return model;
    }

    /// <summary>The opset of the default (ai.onnx) domain, or 0 when the model declares none.</summary>
    public static long DefaultOpset(ModelProto model) =>
        model.OpsetImport.Where(o => o.Domain is "" or "ai.onnx").Select(o => o.Version).DefaultIfEmpty(0).Max();
}

/// <summary>Decodes <c>TensorProto</c> payloads (inline raw/typed data or external-data files) into .NET arrays.</summary>
internal sealed class OnnxTensorReader(string modelPath) : IDisposable
{
    private readonly string _baseDir = Path.GetDirectoryName(Path.GetFullPath(modelPath))!;
    private readonly Dictionary<string, FileStream> _open = new(StringComparer.Ordinal);

    /// <summary>The ONNX file (for error messages).</summary>
    public string ModelPath { get; } = modelPath;

    /// <summary>The tensor's values as float32 (float, float16, bfloat16 and double are converted), row-major.</summary>
    public float[] Floats(TensorProto t)
    {
        var type = (TensorProto.Types.DataType)t.DataType;
        var n = checked((int)Count(t));
        switch (type)
        {
            case TensorProto.Types.DataType.Float:
                if (t.FloatData.Count > 0)
                {
                    return [.. t.FloatData];
                }
                return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(Bytes(t, n * 4L)).ToArray();
            case TensorProto.Types.DataType.Float16:
                if (t.Int32Data.Count > 0)
                {
                    return [.. t.Int32Data.Select(v => (float)BitConverter.UInt16BitsToHalf((ushort)v))];
                }
                {
                    var h = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, Half>(Bytes(t, n * 2L));
                    var f = new float[h.Length];
                    for (var i = 0; i < h.Length; i++)
                    {
                        f[i] = (float)h[i];
                    }
                    return f;
                }
            case TensorProto.Types.DataType.Bfloat16:
                {
                    var u = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(Bytes(t, n * 2L));
                    var f = new float[u.Length];
                    for (var i = 0; i < u.Length; i++)
                    {
                        f[i] = BitConverter.Int32BitsToSingle(u[i] << 16);
                    }
                    return f;
                }
            case TensorProto.Types.DataType.Double:
                if (t.DoubleData.Count > 0)
                {
                    return [.. t.DoubleData.Select(v => (float)v)];
                }
                return [.. System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(Bytes(t, n * 8L)).ToArray().Select(v => (float)v)];
            default:
                throw new BertSharpException($"{ModelPath}: tensor '{t.Name}' has data type {type}; expected a floating-point weight.");
        }
    }

    /// <summary>The tensor's values as int64 (int64 and int32 tensors).</summary>
    public long[] Int64s(TensorProto t)
    {
        var type = (TensorProto.Types.DataType)t.DataType;
        var n = checked((int)Count(t));
        return type switch
        {
            TensorProto.Types.DataType.Int64 when t.Int64Data.Count > 0 => [.. t.Int64Data],
            TensorProto.Types.DataType.Int64 => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(Bytes(t, n * 8L)).ToArray(),
            TensorProto.Types.DataType.Int32 when t.Int32Data.Count > 0 => [.. t.Int32Data.Select(v => (long)v)],
            TensorProto.Types.DataType.Int32 => [.. System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(Bytes(t, n * 4L)).ToArray().Select(v => (long)v)],
            _ => throw new BertSharpException($"{ModelPath}: tensor '{t.Name}' has data type {type}; expected an integer tensor."),
        };
    }

    /// <summary>Whether the tensor holds floating-point values.</summary>
    public static bool IsFloat(TensorProto t) => (TensorProto.Types.DataType)t.DataType is TensorProto.Types.DataType.Float
        or TensorProto.Types.DataType.Float16 or TensorProto.Types.DataType.Bfloat16 or TensorProto.Types.DataType.Double;

    /// <summary>Number of elements (1 for a scalar).</summary>
    public static long Count(TensorProto t) => t.Dims.Aggregate(1L, (a, d) => a * d);

    // A span over the parsed message's own bytes: its one copy is the array the caller converts into.
    private ReadOnlySpan<byte> Bytes(TensorProto t, long expected)
    {
        if (t.DataLocation == TensorProto.Types.DataLocation.External)
        {
            return External(t, expected);
        }
        if (t.RawData.Length != expected)
        {
            throw new BertSharpException(
                Invariant($"{ModelPath}: tensor '{t.Name}' [{ShapeText.Join(t.Dims)}] has {t.RawData.Length:N0} bytes of data, expected {expected:N0} (truncated or corrupt model)."));
        }
        return t.RawData.Span;
    }

    private byte[] External(TensorProto t, long expected)
    {
        var info = t.ExternalData.ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal);
        if (!info.TryGetValue("location", out var location) || location.Length == 0)
        {
            throw new BertSharpException($"{ModelPath}: tensor '{t.Name}' is stored externally but names no location.");
        }
        // External data must stay beside the model: a location may not climb out of the model's directory.
        var file = Path.GetFullPath(Path.Combine(_baseDir, location));
        if (Path.IsPathRooted(location) || !file.StartsWith(_baseDir + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new BertSharpException($"{ModelPath}: tensor '{t.Name}' names external data '{location}' outside the model's directory.");
        }
        if (!File.Exists(file))
        {
            throw new BertSharpException($"{file}: external data file of tensor '{t.Name}' not found (expected beside {ModelPath}).");
        }
        var offset = info.TryGetValue("offset", out var o) && long.TryParse(o, CultureInfo.InvariantCulture, out var ov) ? ov : 0;
        var length = info.TryGetValue("length", out var l) && long.TryParse(l, CultureInfo.InvariantCulture, out var lv) ? lv : expected;
        if (length != expected)
        {
            throw new BertSharpException(Invariant($"{file}: tensor '{t.Name}' has length {length:N0} in the model but needs {expected:N0} bytes."));
        }
        if (!_open.TryGetValue(file, out var fs))
        {
            OnnxExport.VerifyDataFile(file);
            fs = File.OpenRead(file);
            _open[file] = fs;
        }
        if (offset < 0 || offset + length > fs.Length)
        {
            throw new BertSharpException(
                Invariant($"{file}: tensor '{t.Name}' needs bytes {offset:N0}..{offset + length:N0} but the file has {fs.Length:N0} (truncated external data)."));
        }
        var buffer = new byte[length];
        fs.Seek(offset, SeekOrigin.Begin);
        fs.ReadExactly(buffer);
        return buffer;
    }

    /// <summary>Closes the external-data files opened so far.</summary>
    public void Dispose()
    {
        foreach (var fs in _open.Values)
        {
            fs.Dispose();
        }
        _open.Clear();
    }
}
