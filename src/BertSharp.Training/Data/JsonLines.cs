using System.Text.Json;

namespace BertSharp.Data;

/// <summary>JSON lines files (one object per line, blank lines skipped), as every JSONL dataset reader reads them.</summary>
internal static class JsonLines
{
    /// <summary>
    /// Calls <paramref name="visit"/> with the 1-based line number and the parsed value of every non-blank line of
    /// <paramref name="text"/>; a line that is not JSON is a one-line error naming <paramref name="path"/> and the line.
    /// </summary>
    public static void ForEach(string path, string text, Action<int, JsonElement> visit)
    {
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var raw = lines[i].TrimEnd('\r');
            if (string.IsNullOrWhiteSpace(raw))
            {
                continue;
            }
            IO.StrictJson.RefuseLoneSurrogates(path, raw, i + 1);
            JsonDocument doc;
            try
            {
                // A key given twice would leave it open which value is meant (JsonDocument finds one, Python's json the
                // last): refused, as a column named twice in a CSV header is.
                doc = JsonDocument.Parse(raw, IO.StrictJson.Options);
            }
            catch (JsonException e)
            {
                throw IO.StrictJson.DuplicateKeyError(IO.LineRef.At(path, i + 1), raw, e)
                    ?? WholeDocument(path, text)
                    ?? new BertSharpException(Invariant($"{IO.LineRef.At(path, i + 1)}: not valid JSON ({IO.LineRef.JsonReason(e)}); expected one JSON object per line."), e);
            }
            using (doc)
            {
                visit(i + 1, doc.RootElement);
            }
        }
    }

    /// <summary>
    /// The error for a file that is one JSON document over several lines (a JSON array of records, or a pretty-printed
    /// object), which HF datasets' json loader reads too; null when <paramref name="text"/> is not one.
    /// </summary>
    /// <remarks>Its first line failed as "not valid JSON (… reached end of data)", which called a valid file invalid.</remarks>
    private static BertSharpException? WholeDocument(string path, string text)
    {
        try
        {
            using var doc = JsonDocument.Parse(text, IO.StrictJson.Options);
            var what = doc.RootElement.ValueKind switch { JsonValueKind.Array => "array", JsonValueKind.Object => "object", _ => "value" };
            return new BertSharpException($"{path}: one JSON {what} over several lines; expected JSON lines, one object per line (as HF datasets' to_json writes them).");
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
