using System.Text;
using System.Text.Json;

namespace BertSharp.Checkpoints;

/// <summary>
/// Parses and validates a safetensors header with the rules of the Rust reference implementation: a sane header length,
/// well-formed JSON, known dtypes, offsets that tile the data section exactly (no gap, no overlap, nothing past the end)
/// and byte counts that agree with dtype × shape. Every failure names the file and, where there is one, the tensor.
/// </summary>
internal static class SafeTensorsHeaderParser
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The Rust crate refuses headers above 100 MB; so do we, before allocating anything.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    public static SafeTensorsHeader Read(string path, Stream stream)
    {
        long fileLength = stream.Length;
        if (fileLength < 8)
        {
            throw Fail(path, $"file is {fileLength} bytes, too short for the 8-byte header length");
        }
        Span<byte> lenBytes = stackalloc byte[8];
        stream.Position = 0;
        stream.ReadExactly(lenBytes);
        ulong n = BitConverter.ToUInt64(lenBytes);
        if (n > MaxHeaderBytes)
        {
            throw Fail(path, $"header length {n} is larger than the {MaxHeaderBytes}-byte limit (not a safetensors file, or corrupted)");
        }
        if ((long)n > fileLength - 8)
        {
            throw Fail(path, $"header length {n} runs past the end of the {fileLength}-byte file (truncated?)");
        }
        var json = new byte[n];
        stream.ReadExactly(json);
        return Parse(path, json, fileLength - 8 - (long)n);
    }

    public static SafeTensorsHeader Parse(string path, byte[] json, long dataLength)
    {
        if (json.Length == 0 || json[0] != (byte)'{')
        {
            throw Fail(path, "header does not start with '{' (not a safetensors file)");
        }
        try
        {
            StrictUtf8.GetCharCount(json);
        }
        catch (DecoderFallbackException)
        {
            throw Fail(path, "header is not valid UTF-8");
        }
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            throw Fail(path, $"header is not valid JSON ({e.Message})");
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw Fail(path, "header is not a JSON object");
            }
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var entries = new List<SafeTensorsEntry>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (!seen.Add(prop.Name))
                {
                    throw Fail(path, $"key '{prop.Name}' appears twice in the header");
                }
                if (prop.Name == "__metadata__")
                {
                    ReadMetadata(path, prop.Value, metadata);
                }
                else
                {
                    entries.Add(ReadEntry(path, prop.Name, prop.Value));
                }
            }
            entries.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
            CheckLayout(path, entries, dataLength);
            return new SafeTensorsHeader(path, entries, metadata, 8 + json.Length);
        }
    }

    private static void ReadMetadata(string path, JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return;
        }
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw Fail(path, "__metadata__ must be an object of strings");
        }
        foreach (var m in value.EnumerateObject())
        {
            if (m.Value.ValueKind != JsonValueKind.String)
            {
                throw Fail(path, $"__metadata__ entry '{m.Name}' must be a string, found {m.Value.ValueKind}");
            }
            if (!metadata.TryAdd(m.Name, m.Value.GetString()!))
            {
                throw Fail(path, $"__metadata__ key '{m.Name}' appears twice");
            }
        }
    }

    private static SafeTensorsEntry ReadEntry(string path, string name, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw Fail(path, name, "entry is not an object with dtype, shape and data_offsets");
        }
        if (!value.TryGetProperty("dtype", out var dtypeEl) || dtypeEl.ValueKind != JsonValueKind.String)
        {
            throw Fail(path, name, "missing string field 'dtype'");
        }
        var dtypeName = dtypeEl.GetString()!;
        var dtype = SafeTensorsDType.FromName(dtypeName)
            ?? throw Fail(path, name, $"unknown dtype '{dtypeName}'");
        if (!value.TryGetProperty("shape", out var shapeEl) || shapeEl.ValueKind != JsonValueKind.Array)
        {
            throw Fail(path, name, "missing array field 'shape'");
        }
        var shape = new long[shapeEl.GetArrayLength()];
        long count = 1;
        for (int i = 0; i < shape.Length; i++)
        {
            var d = shapeEl[i];
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out shape[i]) || shape[i] < 0)
            {
                throw Fail(path, name, $"shape[{i}] is not a non-negative integer");
            }
            try
            {
                count = checked(count * shape[i]);
            }
            catch (OverflowException)
            {
                throw Fail(path, name, $"shape [{string.Join(", ", shape.Take(i + 1))}...] has too many elements");
            }
        }
        if (!value.TryGetProperty("data_offsets", out var offEl) || offEl.ValueKind != JsonValueKind.Array || offEl.GetArrayLength() != 2)
        {
            throw Fail(path, name, "missing field 'data_offsets' = [begin, end]");
        }
        if (!TryOffset(offEl[0], out long begin) || !TryOffset(offEl[1], out long end))
        {
            throw Fail(path, name, $"data_offsets {offEl.GetRawText()} are not non-negative integers");
        }
        if (end < begin)
        {
            throw Fail(path, name, $"data_offsets [{begin}, {end}] end before they begin");
        }
        long expected;
        try
        {
            expected = checked(count * dtype.Size);
        }
        catch (OverflowException)
        {
            throw Fail(path, name, "byte count overflows");
        }
        if (end - begin != expected)
        {
            throw Fail(path, name,
                $"data_offsets [{begin}, {end}] hold {end - begin} bytes but {dtype.Name} [{string.Join(", ", shape)}] needs {expected}");
        }
        return new SafeTensorsEntry(name, dtype, shape, begin, end);
    }

    private static bool TryOffset(JsonElement e, out long v)
    {
        v = 0;
        return e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out v) && v >= 0;
    }

    private static void CheckLayout(string path, List<SafeTensorsEntry> entries, long dataLength)
    {
        long cursor = 0;
        string? previous = null;
        foreach (var e in entries)
        {
            if (e.Begin < cursor)
            {
                throw Fail(path, e.Name, $"data_offsets [{e.Begin}, {e.End}] overlap tensor '{previous}' (which ends at {cursor})");
            }
            if (e.Begin > cursor)
            {
                throw Fail(path, e.Name,
                    $"data_offsets [{e.Begin}, {e.End}] leave a gap of {e.Begin - cursor} bytes after " +
                    (previous is null ? "the start of the data" : $"tensor '{previous}'"));
            }
            if (e.End > dataLength)
            {
                throw Fail(path, e.Name,
                    $"data_offsets [{e.Begin}, {e.End}] run past the end of the {dataLength}-byte data section (file truncated?)");
            }
            cursor = e.End;
            previous = e.Name;
        }
        if (cursor != dataLength)
        {
            throw Fail(path, $"the tensors cover {cursor} bytes but the data section has {dataLength} (trailing bytes, or a missing tensor)");
        }
    }

    internal static BertSharpException Fail(string path, string what) => new($"{path}: invalid safetensors file: {what}.");

    internal static BertSharpException Fail(string path, string tensor, string what) =>
        new($"{path}: invalid safetensors file: tensor '{tensor}': {what}.");

    /// <summary>UTF-8 byte order, which is what the Rust writer sorts names by.</summary>
    internal static int CompareUtf8(string a, string b) =>
        Encoding.UTF8.GetBytes(a).AsSpan().SequenceCompareTo(Encoding.UTF8.GetBytes(b));
}
