using System.Globalization;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Checkpoints;

/// <summary>
/// Writes the layout of the Rust <c>safetensors</c> crate exactly: data ordered by dtype rank (descending) then name
/// (UTF-8 byte order), compact serde-style JSON with <c>__metadata__</c> first, the header padded with spaces to a
/// multiple of 8 bytes.
/// </summary>
internal static class SafeTensorsWriter
{
    public static void Write(Stream output, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        var items = new List<(string Name, Tensor Tensor, SafeTensorsDType DType)>(tensors.Count);
        foreach (var (name, t) in tensors)
        {
            if (name == "__metadata__")
            {
                throw new BertSharpException("safetensors: '__metadata__' is reserved and cannot be a tensor name.");
            }
            ArgumentNullException.ThrowIfNull(t, name);
            var dtype = SafeTensorsDType.FromScalarType(t.dtype)
                ?? throw new BertSharpException($"safetensors: tensor '{name}' has dtype {t.dtype}, which the format cannot store.");
            items.Add((name, t, dtype));
        }
        items.Sort((a, b) => a.DType.Rank != b.DType.Rank
            ? b.DType.Rank.CompareTo(a.DType.Rank)
            : SafeTensorsHeaderParser.CompareUtf8(a.Name, b.Name));

        var json = new StringBuilder("{");
        if (metadata is not null)
        {
            json.Append("\"__metadata__\":{");
            bool first = true;
            foreach (var (k, v) in metadata)
            {
                if (!first)
                {
                    json.Append(',');
                }
                first = false;
                AppendString(json, k).Append(':');
                AppendString(json, v);
            }
            json.Append('}');
            if (items.Count > 0)
            {
                json.Append(',');
            }
        }
        long offset = 0;
        for (int i = 0; i < items.Count; i++)
        {
            var (name, t, dtype) = items[i];
            long bytes = t.numel() * dtype.Size;
            if (i > 0)
            {
                json.Append(',');
            }
            AppendString(json, name).Append(":{\"dtype\":\"").Append(dtype.Name).Append("\",\"shape\":[");
            json.AppendJoin(',', t.shape.Select(d => d.ToString(CultureInfo.InvariantCulture)));
            json.Append("],\"data_offsets\":[").Append(offset.ToString(CultureInfo.InvariantCulture)).Append(',')
                .Append((offset + bytes).ToString(CultureInfo.InvariantCulture)).Append("]}");
            offset += bytes;
        }
        json.Append('}');

        var header = Encoding.UTF8.GetBytes(json.ToString());
        int pad = (8 - header.Length % 8) % 8;
        Span<byte> len = stackalloc byte[8];
        BitConverter.TryWriteBytes(len, (ulong)(header.Length + pad));
        output.Write(len);
        output.Write(header);
        for (int i = 0; i < pad; i++)
        {
            output.WriteByte((byte)' ');
        }
        foreach (var (_, t, _) in items)
        {
            WriteData(output, t);
        }
    }

    /// <summary>Streams a tensor's bytes (C order, little-endian) without materialising more than one CPU copy.</summary>
    private static void WriteData(Stream output, Tensor t)
    {
        if (t.numel() == 0)
        {
            return;
        }
        using var scope = NewDisposeScope();
        var flat = t.detach().cpu().contiguous().reshape(-1);
        foreach (var chunk in Chunks(flat))
        {
            output.Write(chunk.bytes);
        }
    }

    /// <summary>1-D slices small enough for a <see cref="Span{T}"/> (int-sized) view of their bytes.</summary>
    internal static IEnumerable<Tensor> Chunks(Tensor flat, long maxBytes = 1L << 30)
    {
        long perChunk = Math.Max(1, maxBytes / flat.element_size());
        long n = flat.numel();
        for (long start = 0; start < n; start += perChunk)
        {
            yield return flat.narrow(0, start, Math.Min(perChunk, n - start));
        }
    }

    /// <summary>serde_json string escaping: quote, backslash and control characters only; everything else raw UTF-8.</summary>
    private static StringBuilder AppendString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (c < 0x20)
                    {
                        sb.Append("\\u00").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        sb.Append(c);
                    }
                    break;
            }
        }
        return sb.Append('"');
    }
}
