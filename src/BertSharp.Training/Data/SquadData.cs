using System.Text;
using System.Text.Json;
using BertSharp.IO;
using BertSharp.Inference;
using BertSharp.Tokenization;

namespace BertSharp.Data;

/// <summary>A gold answer: its text and where it starts in the context (UTF-16 offset).</summary>
public sealed record SquadAnswer(string Text, int Start);

/// <summary>One SQuAD question about one context.</summary>
/// <param name="Id">The question id.</param>
/// <param name="Question">The question.</param>
/// <param name="Context">The paragraph.</param>
/// <param name="Answers">Gold answers (empty for an unanswerable v2.0 question).</param>
public sealed record SquadExample(string Id, string Question, string Context, IReadOnlyList<SquadAnswer> Answers)
{
    /// <summary>Whether the question has no answer in the context (SQuAD v2.0).</summary>
    public bool IsImpossible => Answers.Count == 0;
}

/// <summary>A SQuAD file's questions and whether it is v2.0 (unanswerable questions allowed).</summary>
public sealed record SquadDataset(string Path, IReadOnlyList<SquadExample> Examples, bool Version2);

/// <summary>One training window of a question: the encoding and the answer's token span in it ([CLS] = 0 when it has none).</summary>
/// <param name="Example">Index of the question.</param>
/// <param name="Encoding">[CLS] question [SEP] context-window [SEP].</param>
/// <param name="StartPosition">Token of the answer's first character, or 0 ([CLS]) when the window does not hold the answer.</param>
/// <param name="EndPosition">Token of the answer's last character, or 0.</param>
public sealed record QaFeature(int Example, BertEncoding Encoding, int StartPosition, int EndPosition);

/// <summary>
/// Reads SQuAD v1.1 / v2.0 JSON (<c>data[].paragraphs[].qas[]</c>, or HF datasets' flat rows) and builds HF run_qa's
/// training windows. Answer offsets
/// in the file count Unicode code points (Python strings); they are turned into UTF-16 offsets here and checked against the
/// answer text.
/// </summary>
public static partial class SquadData
{
    /// <summary>
    /// Reads a SQuAD file: SQuAD's own nested JSON, or HF datasets' flat rows (<c>{"id", "context", "question", "answers":
    /// {"text": [...], "answer_start": [...]}}</c>) as JSON lines, a JSON array or under <c>"data"</c>; v2.0 when its
    /// <c>version</c> says so or any question is marked <c>is_impossible</c> or has no answers.
    /// </summary>
    public static SquadDataset Read(string path)
    {
        var bytes = TextFileLoader.Load(path);
        if (bytes.Span.Trim(" \t\r\n"u8).IsEmpty)
        {
            // It was "line 1: not valid JSON (The input does not contain any JSON tokens. …, when isFinalBlock is true)".
            throw new BertSharpException($"{path}: {(bytes.IsEmpty ? "empty file" : "only blank lines")}; expected SQuAD JSON ({{\"data\": [{{\"paragraphs\": [...]}}]}}).");
        }
        StrictJson.RefuseLoneSurrogates(path, bytes.Span);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(bytes, StrictJson.Options);
        }
        catch (JsonException e)
        {
            // HF datasets' to_json writes one row per line, which is no single JSON document.
            if (FirstLineIsFlatRow(bytes.Span))
            {
                return ReadFlatLines(path, Encoding.UTF8.GetString(bytes.Span));
            }
            throw StrictJson.DuplicateKeyError(path, bytes.Span, e) ?? new BertSharpException($"{LineRef.NotValidJson(path, e)}; expected SQuAD JSON ({{\"data\": [{{\"paragraphs\": [...]}}]}}).", e);
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind == JsonValueKind.Array && (root.GetArrayLength() == 0 || IsFlatRow(root[0])))
            {
                return ReadFlatRows(path, root, "", version2: false);
            }
            if (IsFlatRow(root))
            {
                // A file of one row: JSON lines of one line.
                return ReadFlatLines(path, Encoding.UTF8.GetString(bytes.Span));
            }
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
            {
                throw new BertSharpException($"{path}: missing field \"data\" (an array); expected SQuAD JSON ({{\"version\": ..., \"data\": [{{\"paragraphs\": [...]}}]}}).");
            }
            var v2 = root.TryGetProperty("version", out var version) && version.ValueKind == JsonValueKind.String
                     && version.GetString()!.TrimStart('v').StartsWith('2');
            // HF's field="data": the rows under "data". The first entry decides, so that a stray entry of the other layout is
            // an error naming it rather than a second layout mixed in.
            if (data.GetArrayLength() > 0 && IsFlatRow(data[0]))
            {
                return ReadFlatRows(path, data, "data", v2);
            }
            var examples = new List<SquadExample>();
            // Question id → its JSON path: evaluation keys predictions and gold answers by id, so a repeated id would
            // silently merge two questions' answers.
            var seen = new Dictionary<string, string>(StringComparer.Ordinal);
            var articleIndex = 0;
            foreach (var article in data.EnumerateArray())
            {
                var paragraphIndex = 0;
                foreach (var paragraph in Items(path, article, "paragraphs", Invariant($"data[{articleIndex}]")))
                {
                    var context = Text($"{path}: " + Invariant($"data[{articleIndex}].paragraphs[{paragraphIndex}]"), paragraph, "context", NestedLayout);
                    var qaIndex = 0;
                    foreach (var qa in Items(path, paragraph, "qas", Invariant($"data[{articleIndex}].paragraphs[{paragraphIndex}]")))
                    {
                        var at = Invariant($"data[{articleIndex}].paragraphs[{paragraphIndex}].qas[{qaIndex}]");
                        qaIndex++;
                        if (qa.ValueKind != JsonValueKind.Object)
                        {
                            throw new BertSharpException($"{path}: an entry of \"qas\" is {Short(qa.GetRawText())}; expected a question object (\"id\", \"question\", \"answers\").");
                        }
                        var id = UniqueId(path, $"{path}: {at}", qa, at, seen);
                        var question = Text($"{path}: question {id}", qa, "question", NestedLayout);
                        var impossible = IsImpossible($"{path}: question {id}", qa);
                        var answers = Answers(path, id, context, qa, impossible);
                        v2 |= impossible == JsonValueKind.True || answers.Count == 0;
                        examples.Add(new SquadExample(id, question, context, answers));
                    }
                    paragraphIndex++;
                }
                articleIndex++;
            }
            if (examples.Count == 0)
            {
                throw new BertSharpException($"{path}: no questions; expected SQuAD JSON with data[].paragraphs[].qas[].");
            }
            return new SquadDataset(path, examples, v2);
        }
    }

    /// <summary>
    /// HF run_qa's <c>prepare_train_features</c>: every window of every question, with the first gold answer's start and end
    /// token when the window holds the whole answer, else [CLS] (0) for both — as for unanswerable questions.
    /// </summary>
    public static List<QaFeature> TrainingFeatures(BertTokenizer tokenizer, IReadOnlyList<SquadExample> examples, int maxLength, int docStride)
    {
        ArgumentNullException.ThrowIfNull(examples);
        var features = new List<QaFeature>();
        for (var i = 0; i < examples.Count; i++)
        {
            var ex = examples[i];
            foreach (var w in QaWindowing.Windows(tokenizer, ex.Question, ex.Context, maxLength, docStride))
            {
                var (s, e) = ex.IsImpossible ? (0, 0) : AnswerSpan(w, ex.Answers[0]);
                features.Add(new QaFeature(i, w, s, e));
            }
        }
        return features;
    }

    /// <summary>The token span of <paramref name="answer"/> in <paramref name="window"/>, or (0, 0) when the window does not hold all of it.</summary>
    public static (int Start, int End) AnswerSpan(BertEncoding window, SquadAnswer answer)
    {
        ArgumentNullException.ThrowIfNull(window);
        ArgumentNullException.ThrowIfNull(answer);
        var startChar = answer.Start;
        var endChar = answer.Start + answer.Text.Length;
        var context = QaWindowing.AnswerTokens(window);
        var first = Array.IndexOf(context, true);
        var last = Array.LastIndexOf(context, true);
        var offsets = window.Utf16Offsets;
        if (first < 0 || offsets[first].Start > startChar || offsets[last].End < endChar)
        {
            return (0, 0);
        }
        var s = first;
        while (s <= last && offsets[s].Start <= startChar)
        {
            s++;
        }
        var e = last;
        while (e >= first && offsets[e].End >= endChar)
        {
            e--;
        }
        return (s - 1, e + 1);
    }

    /// <summary>What a message expects of the nested layout.</summary>
    private const string NestedLayout = "SQuAD JSON (data[].paragraphs[].qas[])";

    /// <summary>
    /// The question's gold answers in the nested layout; <paramref name="impossible"/> is its <c>is_impossible</c> (Undefined
    /// when absent), which <see cref="CheckAgreement"/> holds them to.
    /// </summary>
    private static List<SquadAnswer> Answers(string path, string id, string context, JsonElement qa, JsonValueKind impossible)
    {
        var question = $"{path}: question {id}";
        if (!qa.TryGetProperty("answers", out var ans))
        {
            if (impossible == JsonValueKind.True)
            {
                return [];
            }
            throw new BertSharpException($"{question}: answers: missing; expected an array of {{\"text\", \"answer_start\"}} (or \"answers\": [] for an unanswerable question).");
        }
        if (ans.ValueKind != JsonValueKind.Array)
        {
            throw new BertSharpException($"{question}: answers: expected an array of {{\"text\", \"answer_start\"}}, got {Short(ans.GetRawText())}.");
        }
        CheckAgreement(question, impossible, ans.GetArrayLength(), "\"answers\": []");
        var answers = new List<SquadAnswer>();
        foreach (var a in ans.EnumerateArray())
        {
            Text($"{question} answer", a, "text", NestedLayout);
            if (!a.TryGetProperty("answer_start", out var st))
            {
                throw new BertSharpException($"{question}: an answer lacks \"answer_start\" (a character offset ≥ 0).");
            }
            answers.Add(Answer(question, context, a.GetProperty("text"), "answer text", st, "answer_start"));
        }
        return answers;
    }

    /// <summary>
    /// Refuses answers that contradict <c>is_impossible</c> (<paramref name="impossible"/>, Undefined when absent): SQuAD 2.0
    /// keeps an unanswerable question's candidates in "plausible_answers" and its answers empty, so a question marked both ways
    /// (or answerable with nothing to learn from) has no single meaning to train or score.
    /// </summary>
    /// <param name="question">The message's start, naming the file and the question.</param>
    /// <param name="impossible">The question's is_impossible.</param>
    /// <param name="count">How many answers it has.</param>
    /// <param name="noAnswers">How the layout writes no answers.</param>
    private static void CheckAgreement(string question, JsonValueKind impossible, int count, string noAnswers)
    {
        if (impossible == JsonValueKind.True && count > 0)
        {
            throw new BertSharpException(Invariant($"{question}: is_impossible is true but \"answers\" holds {count} answer(s); expected {noAnswers} for an unanswerable question (SQuAD 2.0 keeps its candidates in \"plausible_answers\")."));
        }
        if (impossible == JsonValueKind.False && count == 0)
        {
            throw new BertSharpException($"{question}: is_impossible is false but \"answers\" is empty; expected at least one answer (or \"is_impossible\": true for an unanswerable question).");
        }
    }

    /// <summary>The question's <c>is_impossible</c>: True, False, or Undefined when absent.</summary>
    private static JsonValueKind IsImpossible(string question, JsonElement qa)
    {
        if (!qa.TryGetProperty("is_impossible", out var imp))
        {
            return JsonValueKind.Undefined;
        }
        // Only a JSON boolean: "yes" or 1 would otherwise read as answerable (anything not true) and silently turn the
        // question's meaning around.
        if (imp.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            throw new BertSharpException($"{question}: is_impossible: expected true or false, got {Short(imp.GetRawText())}.");
        }
        return imp.ValueKind;
    }

    /// <summary>
    /// The question's id (<see cref="Id"/>), refused when <paramref name="seen"/> (id → where) holds it already: evaluation keys
    /// predictions and gold answers by id, so a repeated id would silently merge two questions' answers.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="entry">The message's start for a question without an id: the file and where the question is.</param>
    /// <param name="qa">The question object.</param>
    /// <param name="at">Where the question is (a JSON path, a line), as a repeated id's message names both.</param>
    /// <param name="seen">Ids read so far and where.</param>
    private static string UniqueId(string path, string entry, JsonElement qa, string at, Dictionary<string, string> seen)
    {
        var id = Id(entry, qa);
        if (!seen.TryAdd(id, at))
        {
            throw new BertSharpException($"{path}: question {id} ({at}): id: already used by {seen[id]}; expected a unique id per question (predictions are keyed by id).");
        }
        return id;
    }

    /// <summary>The question's id: a non-empty string (or a number, read as its digits); <paramref name="entry"/> starts the message when it has none.</summary>
    private static string Id(string entry, JsonElement qa)
    {
        if (!qa.TryGetProperty("id", out var el))
        {
            throw new BertSharpException($"{entry}: id: missing; expected the question's unique id (a string).");
        }
        var id = el.ValueKind switch
        {
            JsonValueKind.String => el.GetString()!,
            JsonValueKind.Number => el.GetRawText(),
            _ => null,
        };
        if (string.IsNullOrWhiteSpace(id))
        {
            throw new BertSharpException($"{entry}: id: expected the question's unique id (a non-empty string), got {Short(el.GetRawText())}.");
        }
        return id;
    }

    /// <summary>
    /// One gold answer, checked against its context: a non-empty text that stands at its start offset (code points, as
    /// Python counts them). Both layouts' answers, each naming its own fields.
    /// </summary>
    /// <param name="question">The message's start, naming the file and the question.</param>
    /// <param name="context">The question's context.</param>
    /// <param name="text">The answer's text.</param>
    /// <param name="textField">What the message calls the text.</param>
    /// <param name="start">The answer's answer_start.</param>
    /// <param name="startField">What the message calls answer_start.</param>
    private static SquadAnswer Answer(string question, string context, JsonElement text, string textField, JsonElement start, string startField)
    {
        // An empty answer would be a zero-width span (end before start) in training and an exact match for an empty
        // prediction in evaluation; unanswerable questions are marked by is_impossible or no answers, not by "".
        if (text.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(text.GetString()))
        {
            throw new BertSharpException($"{question}: {textField}: expected the answer's text, got {Short(text.GetRawText())}.");
        }
        var s = text.GetString()!;
        if (start.ValueKind != JsonValueKind.Number || !start.TryGetInt32(out var codePoints) || codePoints < 0)
        {
            throw new BertSharpException($"{question}: {startField}: expected an integer (a character offset ≥ 0), got {Short(start.GetRawText())}.");
        }
        var at = Utf16Offset(context, codePoints);
        if (at < 0 || at + s.Length > context.Length || !string.Equals(context.Substring(at, s.Length), s, StringComparison.Ordinal))
        {
            throw new BertSharpException(Invariant($"{question}: answer '{Short(s)}' is not at {startField} {codePoints} of its context."));
        }
        return new SquadAnswer(s, at);
    }

    /// <summary>The UTF-16 index of the <paramref name="codePoints"/>-th code point, or -1 past the end.</summary>
    private static int Utf16Offset(string s, int codePoints)
    {
        var i = 0;
        for (var n = 0; n < codePoints; n++)
        {
            if (i >= s.Length)
            {
                return -1;
            }
            i += char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]) ? 2 : 1;
        }
        return i <= s.Length ? i : -1;
    }

    private static JsonElement.ArrayEnumerator Items(string path, JsonElement parent, string field, string where)
    {
        if (parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(field, out var v) && v.ValueKind == JsonValueKind.Array)
        {
            return v.EnumerateArray();
        }
        throw new BertSharpException($"{path}: {where}: {Lacking(parent, field, "an array")}; expected {NestedLayout}.");
    }

    /// <summary>The string <paramref name="field"/> of <paramref name="parent"/>; else an error starting with <paramref name="entry"/> that expects <paramref name="layout"/>.</summary>
    private static string Text(string entry, JsonElement parent, string field, string layout)
    {
        if (parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(field, out var v) && v.ValueKind == JsonValueKind.String)
        {
            return v.GetString()!;
        }
        throw new BertSharpException($"{entry}: {Lacking(parent, field, "a string")}; expected {layout}.");
    }

    /// <summary>What stands where <paramref name="parent"/>'s <paramref name="field"/> of kind <paramref name="expected"/> should: a missing field, or another value.</summary>
    private static string Lacking(JsonElement parent, string field, string expected) =>
        parent.ValueKind != JsonValueKind.Object ? $"expected an object with \"{field}\" ({expected}), got {Short(parent.GetRawText())}"
        : parent.TryGetProperty(field, out var v) ? $"{field}: expected {expected}, got {Short(v.GetRawText())}"
        : $"missing field \"{field}\" ({expected})";

    private static string Short(string s) => s.Length <= 40 ? s : s[..40] + "…";

    /// <summary>Writes examples as SQuAD JSON (v2.0 when any is unanswerable); answer offsets in code points as the format counts them.</summary>
    public static string ToJson(IReadOnlyList<SquadExample> examples)
    {
        ArgumentNullException.ThrowIfNull(examples);
        var v2 = examples.Any(e => e.IsImpossible);
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteString("version", v2 ? "v2.0" : "1.1");
            w.WriteStartArray("data");
            w.WriteStartObject();
            w.WriteString("title", "generated");
            w.WriteStartArray("paragraphs");
            foreach (var e in examples)
            {
                w.WriteStartObject();
                w.WriteString("context", e.Context);
                w.WriteStartArray("qas");
                w.WriteStartObject();
                w.WriteString("id", e.Id);
                w.WriteString("question", e.Question);
                if (v2)
                {
                    w.WriteBoolean("is_impossible", e.IsImpossible);
                }
                w.WriteStartArray("answers");
                foreach (var a in e.Answers)
                {
                    w.WriteStartObject();
                    w.WriteString("text", a.Text);
                    w.WriteNumber("answer_start", e.Context[..a.Start].EnumerateRunes().Count());
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }
}
