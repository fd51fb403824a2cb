using System.Text;
using System.Text.Json;

namespace BertSharp.IO;

/// <summary>An escaped UTF-16 surrogate without its other half in a JSON string.</summary>
/// <param name="Field">Where: the dotted path of the value (<c>data[0].paragraphs[1].context</c>), or of the key itself.</param>
/// <param name="IsKey">Whether the escape is in an object's key rather than in a string value.</param>
/// <param name="Escape">The escape as the text has it (<c>\ud800</c>).</param>
/// <param name="Line">The line of the string, counted from the line the text starts at.</param>
/// <param name="Offset">The byte offset of the string's opening quote in the text.</param>
internal sealed record LoneSurrogate(string Field, bool IsKey, string Escape, long Line, long Offset)
{
    /// <summary>"field 'text' is not valid text: it holds a lone UTF-16 surrogate (\ud800); expected a string of Unicode characters".</summary>
    public string Reason =>
        $"{(IsKey ? "key" : "field")} '{(Field.Length == 0 ? "$" : Field)}' is not valid text: it holds a lone UTF-16 surrogate ({Escape}); expected a string of Unicode characters";
}

internal static partial class StrictJson
{
    /// <summary>
    /// Refuses JSON text holding a string with an escaped lone UTF-16 surrogate (<c>"a\ud800b"</c>), before a parse:
    /// "FILE line N: field 'F' is not valid text: it holds a lone UTF-16 surrogate (\ud800); expected a string of Unicode
    /// characters." System.Text.Json parses such a string but cannot turn it into a .NET string: GetString, the
    /// serializer and a document's duplicate-key check throw an <see cref="InvalidOperationException"/> that names neither
    /// the file nor the line, wherever a reader happens to read the string. Python's json accepts it, but HF tokenizers
    /// cannot encode it (a Rust string is Unicode), so refusing it up front is what an HF user meets too, only earlier.
    /// </summary>
    /// <param name="path">The file, for the message.</param>
    /// <param name="utf8">The JSON text (a whole file, or one line of JSONL).</param>
    /// <param name="firstLine">The file's line the text starts at (1-based).</param>
    /// <exception cref="BertSharpException">A string of the text holds a lone surrogate.</exception>
    public static void RefuseLoneSurrogates(string path, ReadOnlySpan<byte> utf8, long firstLine = 1)
    {
        if (FindLoneSurrogate(utf8, firstLine) is { } lone)
        {
            throw new BertSharpException($"{LineRef.At(path, lone.Line)}: {lone.Reason}.");
        }
    }

    /// <inheritdoc cref="RefuseLoneSurrogates(string, ReadOnlySpan{byte}, long)"/>
    public static void RefuseLoneSurrogates(string path, string text, long firstLine = 1)
    {
        // Only an escape can hold a surrogate (strict UTF-8 has none): most text is not even encoded for the scan.
        if (text.Contains("\\u", StringComparison.Ordinal))
        {
            RefuseLoneSurrogates(path, Encoding.UTF8.GetBytes(text), firstLine);
        }
    }

    /// <summary>
    /// The first string (key or value) of <paramref name="utf8"/> holding an escaped lone surrogate; null when none does,
    /// or when the text stops being JSON before one (the caller's parse then names that fault).
    /// </summary>
    public static LoneSurrogate? FindLoneSurrogate(ReadOnlySpan<byte> utf8, long firstLine = 1)
    {
        if (utf8.IndexOf("\\u"u8) < 0)
        {
            return null;
        }
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = Options.MaxDepth });
        // One entry per open container: its path, and for an array the index of its next element (-1 for an object).
        var open = new Stack<(string Path, int Next)>();
        string? property = null;
        try
        {
            while (reader.Read())
            {
                var token = reader.TokenType;
                if (token is JsonTokenType.EndObject or JsonTokenType.EndArray)
                {
                    open.Pop();
                    continue;
                }
                if (token == JsonTokenType.PropertyName)
                {
                    if (LoneEscape(ref reader) is { } keyEscape)
                    {
                        // The key cannot be decoded: shown as the file has it.
                        var key = Encoding.UTF8.GetString(reader.ValueSpan);
                        return new LoneSurrogate(Join(open.Peek().Path, key), true, keyEscape, Line(utf8, reader.TokenStartIndex, firstLine), reader.TokenStartIndex);
                    }
                    property = reader.GetString();
                    continue;
                }
                // A value: its path, which moves an enclosing array on to its next element.
                var here = "";
                if (open.TryPop(out var parent))
                {
                    here = parent.Next >= 0 ? Invariant($"{parent.Path}[{parent.Next}]") : Join(parent.Path, property);
                    open.Push(parent.Next >= 0 ? (parent.Path, parent.Next + 1) : parent);
                }
                if (token is JsonTokenType.StartObject or JsonTokenType.StartArray)
                {
                    open.Push((here, token == JsonTokenType.StartArray ? 0 : -1));
                }
                else if (token == JsonTokenType.String && LoneEscape(ref reader) is { } escape)
                {
                    return new LoneSurrogate(here, false, escape, Line(utf8, reader.TokenStartIndex, firstLine), reader.TokenStartIndex);
                }
            }
        }
        catch (JsonException)
        {
            // Not JSON before any lone surrogate: the caller's parse says so.
        }
        return null;
    }

    /// <summary>The first lone surrogate escape of the string the reader is on, or null.</summary>
    private static string? LoneEscape(ref Utf8JsonReader reader) => reader.ValueIsEscaped ? FirstLoneEscape(reader.ValueSpan) : null;

    /// <summary>The first <c>\uXXXX</c> of a string's raw (still escaped) bytes that is half a surrogate pair alone.</summary>
    private static string? FirstLoneEscape(ReadOnlySpan<byte> raw)
    {
        for (var i = 0; i < raw.Length - 1; i++)
        {
            if (raw[i] != (byte)'\\')
            {
                continue;
            }
            // The reader has checked every escape: a 'u' is followed by four hex digits.
            if (raw[++i] != (byte)'u')
            {
                continue;
            }
            var unit = Hex(raw.Slice(i + 1, 4));
            var start = i - 1;
            i += 4;
            if (char.IsHighSurrogate(unit) && raw[(i + 1)..] is [(byte)'\\', (byte)'u', _, _, _, _, ..] next && char.IsLowSurrogate(Hex(next.Slice(2, 4))))
            {
                i += 6;
                continue;
            }
            if (char.IsSurrogate(unit))
            {
                return Encoding.ASCII.GetString(raw.Slice(start, 6));
            }
        }
        return null;
    }

    private static char Hex(ReadOnlySpan<byte> four) =>
        (char)int.Parse(Encoding.ASCII.GetString(four), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);

    private static long Line(ReadOnlySpan<byte> utf8, long offset, long firstLine) => firstLine + utf8[..(int)offset].Count((byte)'\n');
}
