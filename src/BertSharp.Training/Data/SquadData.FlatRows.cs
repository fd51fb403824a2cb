using System.Text.Json;
using BertSharp.IO;

namespace BertSharp.Data;

/// <summary>
/// HF datasets' flat SQuAD rows, which run_qa.py reads: <c>load_dataset("squad")</c> then <c>to_json</c> writes one row per
/// line (<c>{"id", "title", "context", "question", "answers": {"text": [...], "answer_start": [...]}}</c>, empty lists for an
/// unanswerable SQuAD 2.0 question); a JSON array of rows, or rows under <c>"data"</c> (HF's <c>field="data"</c>), read alike.
/// </summary>
public static partial class SquadData
{
    /// <summary>What a message expects of the flat layout.</summary>
    private const string FlatLayout = "HF datasets' squad rows ({\"id\", \"context\", \"question\", \"answers\": {\"text\": [...], \"answer_start\": [...]}})";

    /// <summary>Whether <paramref name="e"/> is a flat row rather than a nested article: an object with a context or a question and no paragraphs.</summary>
    private static bool IsFlatRow(JsonElement e) =>
        e.ValueKind == JsonValueKind.Object && !e.TryGetProperty("paragraphs", out _) && !e.TryGetProperty("data", out _)
        && (e.TryGetProperty("context", out _) || e.TryGetProperty("question", out _));

    /// <summary>Whether the first non-blank line of a file that is not one JSON document is a flat row on its own (JSON lines).</summary>
    private static bool FirstLineIsFlatRow(ReadOnlySpan<byte> bytes)
    {
        var rest = bytes.TrimStart(" \t\r\n"u8);
        var end = rest.IndexOf((byte)'\n');
        var line = end < 0 ? rest : rest[..end];
        var reader = new Utf8JsonReader(line, new JsonReaderOptions { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow });
        try
        {
            using var doc = JsonDocument.ParseValue(ref reader);
            return IsFlatRow(doc.RootElement);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static SquadDataset ReadFlatLines(string path, string text)
    {
        var rows = new FlatRows(path);
        JsonLines.ForEach(path, text, (line, row) => rows.Add(row, LineRef.At(path, line), Invariant($"line {line}")));
        return rows.Dataset(version2: false, "one row per line");
    }

    /// <param name="path">The file.</param>
    /// <param name="array">The rows.</param>
    /// <param name="field">The field that holds them ("" for the file's top-level array).</param>
    /// <param name="version2">Whether the file's <c>version</c> says 2.</param>
    private static SquadDataset ReadFlatRows(string path, JsonElement array, string field, bool version2)
    {
        var rows = new FlatRows(path);
        var i = 0;
        foreach (var row in array.EnumerateArray())
        {
            var at = Invariant($"{field}[{i++}]");
            rows.Add(row, $"{path}: {at}", at);
        }
        return rows.Dataset(version2, field.Length == 0 ? "a JSON array of rows" : $"rows in \"{field}\"");
    }

    /// <summary>The questions of flat rows as they are read, with the nested layout's checks and v2.0 rule.</summary>
    private sealed class FlatRows(string path)
    {
        private readonly List<SquadExample> _examples = [];
        private readonly Dictionary<string, string> _seen = new(StringComparer.Ordinal);
        private bool _version2;

        /// <param name="row">The row.</param>
        /// <param name="entry">The messages' start: the file and the row (its line, or its JSON path).</param>
        /// <param name="at">The row alone, as a repeated id's message names it.</param>
        public void Add(JsonElement row, string entry, string at)
        {
            if (row.ValueKind != JsonValueKind.Object)
            {
                throw new BertSharpException($"{entry}: expected a question object (\"id\", \"context\", \"question\", \"answers\"), got {Short(row.GetRawText())}.");
            }
            var id = UniqueId(path, entry, row, at, _seen);
            var question = $"{entry}: question {id}";
            var context = Text(question, row, "context", FlatLayout);
            var text = Text(question, row, "question", FlatLayout);
            var impossible = IsImpossible(question, row);
            var answers = Answers(question, context, row, impossible);
            _version2 |= impossible == JsonValueKind.True || answers.Count == 0;
            _examples.Add(new SquadExample(id, text, context, answers));
        }

        public SquadDataset Dataset(bool version2, string what) => _examples.Count > 0
            ? new SquadDataset(path, _examples, version2 || _version2)
            : throw new BertSharpException($"{path}: no questions ({what}); expected {FlatLayout}.");

        /// <summary>The row's answers: <c>{"text": [...], "answer_start": [...]}</c>, one start per text.</summary>
        private static List<SquadAnswer> Answers(string question, string context, JsonElement row, JsonValueKind impossible)
        {
            if (!row.TryGetProperty("answers", out var ans))
            {
                if (impossible == JsonValueKind.True)
                {
                    return [];
                }
                throw new BertSharpException($"{question}: answers: missing; expected {{\"text\": [...], \"answer_start\": [...]}} (empty lists for an unanswerable question).");
            }
            if (ans.ValueKind != JsonValueKind.Object)
            {
                throw new BertSharpException($"{question}: answers: expected {{\"text\": [...], \"answer_start\": [...]}}, got {Short(ans.GetRawText())}.");
            }
            var texts = List(question, ans, "text");
            var starts = List(question, ans, "answer_start");
            if (texts.GetArrayLength() != starts.GetArrayLength())
            {
                throw new BertSharpException(Invariant(
                    $"{question}: answers: {texts.GetArrayLength()} text(s) but {starts.GetArrayLength()} answer_start(s); expected one answer_start per text."));
            }
            CheckAgreement(question, impossible, texts.GetArrayLength(), "\"answers\": {\"text\": [], \"answer_start\": []}");
            var answers = new List<SquadAnswer>();
            for (var k = 0; k < texts.GetArrayLength(); k++)
            {
                answers.Add(Answer(question, context, texts[k], Invariant($"answers.text[{k}]"), starts[k], Invariant($"answers.answer_start[{k}]")));
            }
            return answers;
        }

        private static JsonElement List(string question, JsonElement answers, string field)
        {
            if (answers.TryGetProperty(field, out var v) && v.ValueKind == JsonValueKind.Array)
            {
                return v;
            }
            throw new BertSharpException($"{question}: answers.{field}: {(answers.TryGetProperty(field, out v) ? $"expected a list, got {Short(v.GetRawText())}" : "missing")}; " +
                                         "expected {\"text\": [...], \"answer_start\": [...]} (empty lists for an unanswerable question).");
        }
    }
}
