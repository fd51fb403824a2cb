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
            JsonDocument doc;
            try
            {
                doc = JsonDocument.Parse(raw);
            }
            catch (JsonException e)
            {
                throw new BertSharpException($"{path} line {i + 1}: not valid JSON ({e.Message.Split('.')[0]}); expected one JSON object per line.", e);
            }
            using (doc)
            {
                visit(i + 1, doc.RootElement);
            }
        }
    }
}
