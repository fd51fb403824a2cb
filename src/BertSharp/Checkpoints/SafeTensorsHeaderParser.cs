using System.Text;
using System.Text.Json;
using BertSharp.IO;
using BertSharp.Modeling;

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
            throw Fail(path, Invariant($"file is {fileLength} bytes, too short for the 8-byte header length"));
        }
        Span<byte> lenBytes = stackalloc byte[8];
        stream.Position = 0;
        stream.ReadExactly(lenBytes);
        ulong n = BitConverter.ToUInt64(lenBytes);
        if (n > MaxHeaderBytes)
        {
            throw Fail(path, Invariant($"header length {n} is larger than the {MaxHeaderBytes}-byte limit (not a safetensors file, or corrupted)"));
        }
        if ((long)n > fileLength - 8)
        {
            throw Fail(path, Invariant($"header length {n} runs past the end of the {fileLength}-byte file (truncated?)"));
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
        // A name with an unpaired surrogate escape (\ud800) cannot become a .NET string: GetString would throw midway.
        if (StrictJson.FindLoneSurrogate(json) is { } lone)
        {
            throw Fail(path, Invariant($"header at byte {8 + lone.Offset}: {lone.Reason}"));
        }
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var entries = new List<SafeTensorsEntry>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        // One forward pass of a streaming reader: no document tree, so time and memory stay linear in the header and the
        // tensor limit stops a hostile header before its entries pile up.
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 16 });
        try
        {
            Read(ref reader);
            while (Read(ref reader) == JsonTokenType.PropertyName)
            {
                var name = reader.GetString()!;
                if (!seen.Add(name))
                {
                    throw Fail(path, $"key '{name}' appears twice in the header");
                }
                Read(ref reader);
                if (name == "__metadata__")
                {
                    ReadMetadata(path, ref reader, metadata);
                    continue;
                }
                if (entries.Count == MaxTensors)
                {
                    throw Fail(path, Invariant($"the header lists more than {MaxTensors:N0} tensors (the limit; a checkpoint has a few hundred)"));
                }
                entries.Add(ReadEntry(path, name, ref reader));
            }
            if (reader.Read())
            {
                throw Fail(path, "header is not valid JSON (data after the closing brace)");
            }
        }
        catch (JsonException e)
        {
            throw Fail(path, $"header is not valid JSON{At(json, e)} ({LineRef.JsonReason(e)})");
        }
        entries.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        CheckLayout(path, entries, dataLength);
        return new SafeTensorsHeader(path, entries, metadata, 8 + json.Length);
    }

    /// <summary>The most tensors a header may list: far above any BERT checkpoint (BERT-large has under 400).</summary>
    public const int MaxTensors = 100_000;

    /// <summary>
    /// " at byte N" for a parser error, N the 0-based offset in the file: the header has no lines to name, and
    /// System.Text.Json's 0-based line and byte-in-line count within the header, which starts after the 8-byte length.
    /// Empty for the parser's own "unexpected end", which has no position.
    /// </summary>
    private static string At(byte[] json, JsonException e)
    {
        if (e.LineNumber is not { } line || e.BytePositionInLine is not { } column)
        {
            return "";
        }
        // Pretty-printed headers are legal: the reader counts '\n' as a line break, so skip that many to the line's start.
        var lineStart = 0;
        for (var i = 0; i < line; i++)
        {
            lineStart = Array.IndexOf(json, (byte)'\n', lineStart) + 1;
        }
        return Invariant($" at byte {8 + lineStart + column}");
    }

    /// <summary>Advances to the next token; running out of tokens inside the header is invalid JSON.</summary>
    private static JsonTokenType Read(ref Utf8JsonReader reader)
    {
        if (!reader.Read())
        {
            throw new JsonException("unexpected end of the header");
        }
        return reader.TokenType;
    }

    private static void ReadMetadata(string path, ref Utf8JsonReader reader, Dictionary<string, string> metadata)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return;
        }
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw Fail(path, "__metadata__ must be an object of strings");
        }
        while (Read(ref reader) == JsonTokenType.PropertyName)
        {
            var key = reader.GetString()!;
            if (Read(ref reader) != JsonTokenType.String)
            {
                throw Fail(path, $"__metadata__ entry '{key}' must be a string, found {Kind(reader.TokenType)}");
            }
            if (!metadata.TryAdd(key, reader.GetString()!))
            {
                throw Fail(path, $"__metadata__ key '{key}' appears twice");
            }
        }
    }

    private static SafeTensorsEntry ReadEntry(string path, string name, ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw Fail(path, name, "entry is not an object with dtype, shape and data_offsets");
        }
        string? dtypeName = null;
        List<long>? shape = null;
        long[]? offsets = null;
        var badDtype = false;
        while (Read(ref reader) == JsonTokenType.PropertyName)
        {
            var field = reader.GetString();
            Read(ref reader);
            switch (field)
            {
                case "dtype" when dtypeName is null && !badDtype:
                    if (reader.TokenType == JsonTokenType.String)
                    {
                        dtypeName = reader.GetString();
                    }
                    else
                    {
                        badDtype = true;
                        reader.Skip();
                    }
                    break;
                case "shape" when shape is null:
                    shape = ReadShape(path, name, ref reader);
                    break;
                case "data_offsets" when offsets is null:
                    offsets = ReadOffsets(path, name, ref reader);
                    break;
                case "dtype" or "shape" or "data_offsets":
                    throw Fail(path, name, $"field '{field}' appears twice");
                default:
                    reader.Skip();
                    break;
            }
        }
        if (dtypeName is null)
        {
            throw Fail(path, name, "missing string field 'dtype'");
        }
        var dtype = SafeTensorsDType.FromName(dtypeName)
            ?? throw Fail(path, name, $"unknown dtype '{dtypeName}'");
        if (shape is null)
        {
            throw Fail(path, name, "missing array field 'shape'");
        }
        long count = 1;
        for (int i = 0; i < shape.Count; i++)
        {
            if (shape[i] < 0)
            {
                throw Fail(path, name, Invariant($"shape[{i}] is not a non-negative integer"));
            }
            try
            {
                count = checked(count * shape[i]);
            }
            catch (OverflowException)
            {
                throw Fail(path, name, $"shape [{ShapeText.Join(shape.Take(i + 1))}...] has too many elements");
            }
        }
        if (offsets is null)
        {
            throw Fail(path, name, "missing field 'data_offsets' = [begin, end]");
        }
        var (begin, end) = (offsets[0], offsets[1]);
        if (end < begin)
        {
            throw Fail(path, name, Invariant($"data_offsets [{begin}, {end}] end before they begin"));
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
                Invariant($"data_offsets [{begin}, {end}] hold {end - begin} bytes but {dtype.Name} [{ShapeText.Join(shape)}] needs {expected}"));
        }
        return new SafeTensorsEntry(name, dtype, [.. shape], begin, end);
    }

    private static List<long> ReadShape(string path, string name, ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw Fail(path, name, "missing array field 'shape'");
        }
        var dims = new List<long>();
        while (Read(ref reader) != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var d) || d < 0)
            {
                throw Fail(path, name, Invariant($"shape[{dims.Count}] is not a non-negative integer"));
            }
            if (dims.Count == 64)
            {
                throw Fail(path, name, "shape has more than 64 dimensions");
            }
            dims.Add(d);
        }
        return dims;
    }

    private static long[] ReadOffsets(string path, string name, ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw Fail(path, name, "missing field 'data_offsets' = [begin, end]");
        }
        var values = new List<string>(2);
        var result = new long[2];
        var ok = true;
        while (Read(ref reader) != JsonTokenType.EndArray)
        {
            if (values.Count == 2)
            {
                throw Fail(path, name, "missing field 'data_offsets' = [begin, end]");
            }
            var raw = reader.TokenType == JsonTokenType.Number ? Encoding.UTF8.GetString(reader.ValueSpan) : Kind(reader.TokenType);
            if (reader.TokenType is JsonTokenType.StartArray or JsonTokenType.StartObject)
            {
                reader.Skip();
            }
            ok &= reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out result[values.Count]) && result[values.Count] >= 0;
            values.Add(raw);
        }
        if (values.Count != 2)
        {
            throw Fail(path, name, "missing field 'data_offsets' = [begin, end]");
        }
        if (!ok)
        {
            throw Fail(path, name, $"data_offsets [{string.Join(",", values)}] are not non-negative integers");
        }
        return result;
    }

    private static string Kind(JsonTokenType t) => t switch
    {
        JsonTokenType.StartObject or JsonTokenType.EndObject => "Object",
        JsonTokenType.StartArray or JsonTokenType.EndArray => "Array",
        JsonTokenType.True => "True",
        JsonTokenType.False => "False",
        _ => t.ToString(),
    };

    private static void CheckLayout(string path, List<SafeTensorsEntry> entries, long dataLength)
    {
        long cursor = 0;
        string? previous = null;
        foreach (var e in entries)
        {
            if (e.Begin < cursor)
            {
                throw Fail(path, e.Name, Invariant($"data_offsets [{e.Begin}, {e.End}] overlap tensor '{previous}' (which ends at {cursor})"));
            }
            if (e.Begin > cursor)
            {
                throw Fail(path, e.Name,
                    Invariant($"data_offsets [{e.Begin}, {e.End}] leave a gap of {e.Begin - cursor} bytes after ") +
                    (previous is null ? "the start of the data" : $"tensor '{previous}'"));
            }
            if (e.End > dataLength)
            {
                throw Fail(path, e.Name,
                    Invariant($"data_offsets [{e.Begin}, {e.End}] run past the end of the {dataLength}-byte data section (file truncated?)"));
            }
            cursor = e.End;
            previous = e.Name;
        }
        if (cursor != dataLength)
        {
            throw Fail(path, Invariant($"the tensors cover {cursor} bytes but the data section has {dataLength} (trailing bytes, or a missing tensor)"));
        }
    }

    internal static BertSharpException Fail(string path, string what) => new($"{path}: invalid safetensors file: {what}.");

    internal static BertSharpException Fail(string path, string tensor, string what) =>
        new($"{path}: invalid safetensors file: tensor '{tensor}': {what}.");

    /// <summary>UTF-8 byte order, which is what the Rust writer sorts names by.</summary>
    internal static int CompareUtf8(string a, string b) =>
        Encoding.UTF8.GetBytes(a).AsSpan().SequenceCompareTo(Encoding.UTF8.GetBytes(b));
}
