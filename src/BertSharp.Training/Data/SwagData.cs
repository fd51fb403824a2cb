using System.Globalization;
using System.Text;
using System.Text.Json;
using BertSharp.Tokenization;
using CsvHelper;

namespace BertSharp.Data;

/// <summary>One multiple-choice question: a context, the start of the continuation, the candidate endings and the right one.</summary>
/// <param name="Sent1">The context (HF run_swag's <c>sent1</c>, the first text of every pair).</param>
/// <param name="Sent2">The start of the continuation (<c>sent2</c>), put before each ending.</param>
/// <param name="Endings">The candidate endings (<c>ending0</c>, <c>ending1</c>, …).</param>
/// <param name="Label">Index of the right ending, or null when the file has no labels.</param>
/// <param name="Line">1-based line in its file.</param>
public sealed record ChoiceExample(string Sent1, string Sent2, IReadOnlyList<string> Endings, int? Label, int Line)
{
    /// <summary>HF run_swag's pairs: (sent1, sent2 + " " + ending) per ending.</summary>
    public IEnumerable<(string First, string Second)> Pairs => Endings.Select(e => (Sent1, Sent2.Length == 0 ? e : Sent2 + " " + e));
}

/// <summary>A multiple-choice question as model input: one encoded pair per choice.</summary>
/// <param name="Choices">[CLS] sent1 [SEP] sent2 ending [SEP] per choice, truncated longest-first.</param>
/// <param name="Label">The right choice (-100 when unknown).</param>
public sealed record ChoiceFeature(IReadOnlyList<BertEncoding> Choices, long Label)
{
    /// <summary>The longest choice in tokens.</summary>
    public int Length => Choices.Max(c => c.Length);
}

/// <summary>
/// Reads SWAG-style multiple-choice data: CSV with a header (<c>sent1</c>, <c>sent2</c>, <c>ending0</c> … <c>endingN</c>,
/// <c>label</c>; other columns such as <c>video-id</c> are ignored) or JSON lines with the same fields. Every question has
/// the same number of endings (at least 2), as the model scores them side by side.
/// </summary>
public static class SwagData
{
    /// <summary>Reads a CSV or JSON-lines file (by its name: .jsonl / .json → JSON lines).</summary>
    /// <param name="path">The file (.gz is decompressed).</param>
    /// <param name="requireLabels">Whether each question must have a label (training, evaluation).</param>
    public static List<ChoiceExample> Read(string path, bool requireLabels = true)
    {
        var bytes = TextFileLoader.Load(path);
        if (bytes.Span.Trim(" \t\r\n"u8).IsEmpty)
        {
            // It was "no column 'sent1' in the header ()": a file without a header is empty, or blank, not short of a column.
            throw new BertSharpException($"{path}: {(bytes.IsEmpty ? "empty file" : "no questions, only blank lines")}; expected {Fields(requireLabels)}.");
        }
        var examples = TaggedCorpus.IsJsonLines(path) ? ReadJsonLines(path, Encoding.UTF8.GetString(bytes.Span), requireLabels) : ReadCsv(path, bytes, requireLabels);
        if (examples.Count == 0)
        {
            throw new BertSharpException($"{path}: no questions; expected {Fields(requireLabels)} per row.");
        }
        var choices = examples[0].Endings.Count;
        if (examples.FirstOrDefault(e => e.Endings.Count != choices) is { } odd)
        {
            throw new BertSharpException(Invariant($"{IO.LineRef.At(path, odd.Line)}: {odd.Endings.Count} endings; the first question has {choices} (every question needs the same number)."));
        }
        return examples;
    }

    /// <summary>The fields of a question; the label only where it is required (prediction reads files without it).</summary>
    private static string Fields(bool requireLabels) => requireLabels ? "sent1, sent2, ending0…endingN and label" : "sent1, sent2 and ending0…endingN";

    /// <summary>Encodes each choice as HF run_swag does (pair of sent1 and sent2 + ending, truncated longest-first to <paramref name="maxLength"/>).</summary>
    public static ChoiceFeature Encode(BertTokenizer tokenizer, ChoiceExample example, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(example);
        var options = new EncodeOptions { MaxLength = maxLength, Truncation = TruncationStrategy.LongestFirst };
        return new ChoiceFeature([.. example.Pairs.Select(p => tokenizer.Encode(p.First, p.Second, options))], example.Label ?? Modeling.Losses.IgnoreIndex);
    }

    /// <summary>
    /// How many of <paramref name="examples"/> had a choice cut by <see cref="Encode"/> (into <paramref name="features"/>,
    /// at <paramref name="maxLength"/>), and the longest choice in tokens: <see cref="ExampleEncoder.CountTruncated"/>'s rule.
    /// </summary>
    internal static (int Truncated, int Longest) CountTruncated(BertTokenizer tokenizer, IReadOnlyList<ChoiceExample> examples,
        IReadOnlyList<ChoiceFeature> features, int maxLength)
    {
        var truncated = 0;
        var longest = features.Select(f => f.Length).DefaultIfEmpty(0).Max();
        for (var i = 0; i < examples.Count; i++)
        {
            // A question whose longest choice is exactly max_length tokens was not cut; the others are not tokenized again.
            if (features[i].Length >= maxLength)
            {
                var (cut, n) = ExampleEncoder.CountTruncated(tokenizer, examples[i].Pairs.Select(p => (p.First, (string?)p.Second)), maxLength);
                truncated += cut > 0 ? 1 : 0;
                longest = Math.Max(longest, n);
            }
        }
        return (truncated, longest);
    }

    private static List<ChoiceExample> ReadCsv(string path, ReadOnlyMemory<byte> bytes, bool requireLabels)
    {
        var options = IO.DelimitedText.Options();
        using var reader = CsvReader.Create(bytes, options);
        try
        {
            reader.ReadHeader();
            var header = reader.Headers.Select(h => h.Trim()).ToList();
            int Col(string name, bool required)
            {
                var i = header.IndexOf(name);
                if (i < 0 && required)
                {
                    throw new BertSharpException($"{path}: no column '{name}' in the header ({string.Join(", ", header)}); expected {Fields(requireLabels)}.");
                }
                return i;
            }
            var sent1 = Col("sent1", true);
            var sent2 = Col("sent2", false);
            var label = Col("label", requireLabels);
            var endings = Endings(path, header.IndexOf, header);
            var examples = new List<ChoiceExample>();
            while (reader.Read())
            {
                var line = (int)reader.LineNumber;
                string Get(int i) => i < 0 ? "" : i < reader.FieldCount ? (reader.GetString(i) ?? "").Trim()
                    : throw new BertSharpException(Invariant($"{IO.LineRef.At(path, line)}: missing field '{header[i]}' (the row has {reader.FieldCount} fields, expected {header.Count})."));
                examples.Add(Make(path, line, Get(sent1), Get(sent2), [.. endings.Select(Get)], label < 0 ? null : Get(label), requireLabels));
            }
            return examples;
        }
        catch (CsvFormatException e)
        {
            throw IO.DelimitedText.Malformed(path, e, "RFC 4180 quoting");
        }
    }

    private static List<ChoiceExample> ReadJsonLines(string path, string text, bool requireLabels)
    {
        var examples = new List<ChoiceExample>();
        JsonLines.ForEach(path, text, (line, root) =>
        {
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new BertSharpException(Invariant($"{IO.LineRef.At(path, line)}: expected a JSON object with {Fields(requireLabels)}."));
            }
            var names = root.EnumerateObject().Select(p => p.Name).ToList();
            string Field(string name, bool required) =>
                root.TryGetProperty(name, out var v) ? v.ValueKind switch
                {
                    JsonValueKind.String => v.GetString()!.Trim(),
                    JsonValueKind.Number => v.GetRawText(),
                    _ => throw new BertSharpException(Invariant($"{IO.LineRef.At(path, line)}: field \"{name}\" holds {v.ValueKind}; expected a string.")),
                }
                : required ? throw new BertSharpException(Invariant($"{IO.LineRef.At(path, line)}: missing field \"{name}\"; expected {Fields(requireLabels)}.")) : "";
            var endings = Endings(IO.LineRef.At(path, line), names.IndexOf, names).Select(e => Field(names[e], true)).ToArray();
            string? label = root.TryGetProperty("label", out _) ? Field("label", true) : null;
            examples.Add(Make(path, line, Field("sent1", true), Field("sent2", false), endings, label, requireLabels));
        });
        return examples;
    }

    /// <summary>
    /// Column positions of ending0, ending1, … (consecutive from 0, at least two); <c>where</c> is the file, or its line for
    /// JSON lines, as the messages name it.
    /// </summary>
    private static List<int> Endings(string where, Func<string, int> indexOf, IReadOnlyList<string> names)
    {
        var found = new List<int>();
        for (var k = 0; indexOf("ending" + k.ToString(CultureInfo.InvariantCulture)) is var i and >= 0; k++)
        {
            found.Add(i);
        }
        if (found.Count < 2)
        {
            throw new BertSharpException(Invariant($"{where}: {found.Count} ending column(s) among ({string.Join(", ", names)}); expected ending0, ending1, … (at least two)."));
        }
        // The search above stops at the first gap: ending0, ending1, ending3 trained on two endings and dropped the third
        // without a word (run_swag fails on the missing ending2).
        if (names.Where((n, i) => !found.Contains(i) && IsEndingName(n)).FirstOrDefault() is { } stray)
        {
            throw new BertSharpException(Invariant(
                $"{where}: '{stray}' but no 'ending{found.Count}'; expected the endings as ending0, ending1, … with none left out."));
        }
        return found;
    }

    /// <summary>Whether <paramref name="name"/> is an ending's column name: <c>ending</c> and digits.</summary>
    private static bool IsEndingName(string name) =>
        name.Length > "ending".Length && name.StartsWith("ending", StringComparison.Ordinal) && name.AsSpan("ending".Length).IndexOfAnyExceptInRange('0', '9') < 0;

    private static ChoiceExample Make(string path, int line, string sent1, string sent2, string[] endings, string? label, bool requireLabels)
    {
        int? id = null;
        if (!string.IsNullOrEmpty(label))
        {
            if (!int.TryParse(label, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) || v < 0 || v >= endings.Length)
            {
                throw new BertSharpException(Invariant($"{IO.LineRef.At(path, line)}: label '{label}' is not an ending index 0…{endings.Length - 1}."));
            }
            id = v;
        }
        else if (requireLabels)
        {
            throw new BertSharpException(Invariant($"{IO.LineRef.At(path, line)}: empty label; expected an ending index 0…{endings.Length - 1}."));
        }
        if (sent1.Length == 0 && sent2.Length == 0)
        {
            throw new BertSharpException(Invariant($"{IO.LineRef.At(path, line)}: sent1 and sent2 are both empty; expected the question's context."));
        }
        // An empty ending would still be scored (as sent2 alone) and could even be the labelled answer, so the question
        // would train on a choice that is not there; the classification reader refuses an empty text the same way.
        // sent2 alone may be empty (Pairs then pairs sent1 with the bare ending): it only starts the second sentence, while
        // sent1 carries the context, so only both empty is refused above.
        for (var k = 0; k < endings.Length; k++)
        {
            if (endings[k].Length == 0)
            {
                throw new BertSharpException(Invariant($"{IO.LineRef.At(path, line)}: field 'ending{k.ToString(CultureInfo.InvariantCulture)}' is empty; expected the ending's text."));
            }
        }
        return new ChoiceExample(sent1, sent2, endings, id, line);
    }
}
