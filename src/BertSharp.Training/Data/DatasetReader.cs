using System.Globalization;
using System.Text.Json;
using CsvHelper;

namespace BertSharp.Data;

/// <summary>
/// Reads a task's data file into <see cref="TextExample"/>s. Every problem with the file (missing column, empty file,
/// short row, invalid UTF-8, a text column holding numbers, a label outside the task's set) is a
/// <see cref="BertSharpException"/> whose one-line message names the file, the line and the field.
/// </summary>
public static class DatasetReader
{
    /// <summary>Reads <paramref name="path"/> laid out as <paramref name="task"/> says.</summary>
    /// <param name="path">The data file (<c>.gz</c> is decompressed).</param>
    /// <param name="task">Format and columns.</param>
    /// <param name="requireLabels">When false (prediction), a missing label column is allowed and labels are null.</param>
    public static TextDataset Read(string path, TaskSpec task, bool requireLabels = true)
    {
        var bytes = TextFileLoader.Load(path);
        if (bytes.Span.Trim(" \t\r\n"u8).IsEmpty)
        {
            // A file of blank lines is not called empty, which its user can see it is not (as the CLI's .txt inputs).
            throw new BertSharpException($"{path}: {(bytes.IsEmpty ? "empty file" : "no examples, only blank lines")}; expected {Expectation(task, requireLabels)}.");
        }
        var examples = task.Format == DataFormat.JsonLines
            ? ReadJsonLines(path, System.Text.Encoding.UTF8.GetString(bytes.Span), task, requireLabels)
            : ReadDelimited(path, bytes, task, requireLabels);
        if (examples.Count == 0)
        {
            throw new BertSharpException($"{path}: no examples after the header; expected {Expectation(task, requireLabels)}.");
        }
        CheckIsText(path, examples, task.TextColumn, e => e.Text);
        if (task.TextPairColumn is not null)
        {
            CheckIsText(path, examples, task.TextPairColumn, e => e.TextPair!);
        }
        return new TextDataset(path, task.LabelColumn, examples);
    }

    /// <summary>What a file of <paramref name="task"/> holds; without <paramref name="requireLabels"/> (prediction) the label is not asked for.</summary>
    private static string Expectation(TaskSpec task, bool requireLabels)
    {
        var fields = new List<string> { task.TextColumn };
        if (task.TextPairColumn is not null)
        {
            fields.Add(task.TextPairColumn);
        }
        if (requireLabels)
        {
            fields.Add(task.LabelColumn);
        }
        string List(char quote) => fields.Count == 1 ? $"{quote}{fields[0]}{quote}"
            : string.Join(", ", fields.SkipLast(1).Select(f => $"{quote}{f}{quote}")) + $" and {quote}{fields[^1]}{quote}";
        return task.Format switch
        {
            DataFormat.JsonLines => $"one JSON object per line with {List('"')}",
            _ when task.FixedColumns is not null => Invariant($"{task.FixedColumns.Count} tab-separated columns ({string.Join(", ", task.FixedColumns)}) without a header"),
            _ => $"a header row with column{(fields.Count == 1 ? "" : "s")} {List('\'')}",
        };
    }

    private static List<TextExample> ReadDelimited(string path, ReadOnlyMemory<byte> bytes, TaskSpec task, bool requireLabels)
    {
        var tsv = task.Format == DataFormat.Tsv;
        var options = IO.DelimitedText.Options(tsv ? '\t' : ',', hasHeader: task.FixedColumns is null);
        using var reader = CsvReader.Create(bytes, options);
        try
        {
            string[] header;
            if (task.FixedColumns is not null)
            {
                header = [.. task.FixedColumns];
            }
            else
            {
                reader.ReadHeader();
                header = [.. reader.Headers.Select(h => h.Trim())];
            }
            var textIdx = Column(path, header, task.TextColumn, BertSharpException.Field("text_column"), task, required: true, requireLabels);
            var pairIdx = task.TextPairColumn is null ? -1 : Column(path, header, task.TextPairColumn, BertSharpException.Field("text_pair_column"), task, required: true, requireLabels);
            var labelIdx = Column(path, header, task.LabelColumn, BertSharpException.Field("label_column"), task, required: requireLabels, requireLabels);
            var needed = Math.Max(textIdx, Math.Max(pairIdx, labelIdx));
            var examples = new List<TextExample>();
            while (reader.Read())
            {
                var line = (int)reader.LineNumber;
                var fields = reader.FieldCount;
                if (fields <= needed)
                {
                    var missing = new[] { (textIdx, task.TextColumn), (pairIdx, task.TextPairColumn), (labelIdx, task.LabelColumn) }
                        .Where(c => c.Item1 >= fields).Select(c => c.Item2).First();
                    throw new BertSharpException(
                        Invariant($"{IO.LineRef.At(path, line)}: missing field '{missing}' (the row has {fields} field{(fields == 1 ? "" : "s")}, expected {header.Length})."));
                }
                // A row longer than the header was read by its first fields, the rest dropped: a text cut at a separator,
                // or columns shifted; HF datasets (pandas) refuse such a row too.
                if (fields > header.Length)
                {
                    throw new BertSharpException(
                        Invariant($"{IO.LineRef.At(path, line)}: the row has {fields} fields, expected {header.Length} ({(task.FixedColumns is null ? "the header's" : "the task's")} columns: ") +
                        $"{string.Join(", ", header.Select(h => Short(h, 30)))}){(tsv ? "; a tab inside a text splits it" : "; quote a field holding ','")}.");
                }
                var t = CleanText(reader.GetString(textIdx) ?? "", task);
                var p = pairIdx >= 0 ? CleanText(reader.GetString(pairIdx) ?? "", task) : null;
                var label = labelIdx >= 0 ? (reader.GetString(labelIdx) ?? "").Trim() : null;
                examples.Add(MakeExample(path, line, task, t, p, label));
            }
            return examples;
        }
        catch (CsvFormatException e)
        {
            throw IO.DelimitedText.Malformed(path, e, "RFC 4180 quoting (quote fields holding ',' or '\"', double inner quotes)");
        }
    }

    private static List<TextExample> ReadJsonLines(string path, string text, TaskSpec task, bool requireLabels)
    {
        var examples = new List<TextExample>();
        JsonLines.ForEach(path, text, (line, root) =>
        {
            examples.Add(JsonExample(path, line, root, task, requireLabels));
        });
        return examples;
    }

    private static TextExample JsonExample(string path, int line, JsonElement root, TaskSpec task, bool requireLabels)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new BertSharpException(Invariant($"{IO.LineRef.At(path, line)}: a JSON {root.ValueKind.ToString().ToLowerInvariant()}; expected an object with \"{task.TextColumn}\" and \"{task.LabelColumn}\"."));
        }
        var t = JsonText(path, line, root, task.TextColumn, BertSharpException.Field("text_column"));
        var p = task.TextPairColumn is null ? null : JsonText(path, line, root, task.TextPairColumn, BertSharpException.Field("text_pair_column"));
        string? label = null;
        if (root.TryGetProperty(task.LabelColumn, out var l))
        {
            label = l.ValueKind switch
            {
                JsonValueKind.String => l.GetString()!.Trim(),
                JsonValueKind.Number => l.GetRawText(),
                JsonValueKind.True => "true",
                JsonValueKind.False => "false",
                _ => throw new BertSharpException(Invariant($"{IO.LineRef.At(path, line)}: field \"{task.LabelColumn}\" is a JSON {l.ValueKind.ToString().ToLowerInvariant()}; expected a string or number label.")),
            };
        }
        else if (requireLabels)
        {
            throw new BertSharpException(Invariant($"{IO.LineRef.At(path, line)}: missing field \"{task.LabelColumn}\"; choose the label field with {BertSharpException.Field("label_column")}."));
        }
        return MakeExample(path, line, task, CleanText(t, task), p is null ? null : CleanText(p, task), label);
    }

    private static string JsonText(string path, int line, JsonElement obj, string field, string option)
    {
        if (!obj.TryGetProperty(field, out var v))
        {
            var have = string.Join(", ", obj.EnumerateObject().Select(p => p.Name));
            throw new BertSharpException(Invariant($"{IO.LineRef.At(path, line)}: missing field \"{field}\" (the object has: {have}); choose it with {option}."));
        }
        if (v.ValueKind != JsonValueKind.String)
        {
            throw new BertSharpException(Invariant($"{IO.LineRef.At(path, line)}: field \"{field}\" is a JSON {v.ValueKind.ToString().ToLowerInvariant()}, not text; choose the text field with {option}."));
        }
        return v.GetString()!;
    }

    private static TextExample MakeExample(string path, int line, TaskSpec task, string text, string? pair, string? label)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new BertSharpException(Invariant($"{IO.LineRef.At(path, line)}: field '{task.TextColumn}' is empty; expected text."));
        }
        if (pair is not null && string.IsNullOrWhiteSpace(pair))
        {
            throw new BertSharpException(Invariant($"{IO.LineRef.At(path, line)}: field '{task.TextPairColumn}' is empty; expected text."));
        }
        if (label is not null)
        {
            if (label.Length == 0)
            {
                throw new BertSharpException(Invariant($"{IO.LineRef.At(path, line)}: field '{task.LabelColumn}' is empty; expected a label."));
            }
            if (task.KnownLabels is { } known)
            {
                var match = known.FirstOrDefault(k => string.Equals(k.Key, label, StringComparison.OrdinalIgnoreCase));
                if (match.Key is null)
                {
                    // A headerless format's first line is an example: one that does not read as such is most likely a header row.
                    var header = line == 1 && task.FixedColumns is not null ? " (its files have no header row: the first line is an example)" : "";
                    throw new BertSharpException(
                        Invariant($"{IO.LineRef.At(path, line)}: field '{task.LabelColumn}' is '{Short(label)}'; expected {string.Join(" or ", known.Select(k => k.Key))} for task {task.Name}{header}."));
                }
                return new TextExample(text, pair, match.Value, line) { LabelText = label };
            }
            // LabelMap's rule: 1e400 (infinity) passed here, so data stats reported a mean of Infinity and fine-tuning refused it only later.
            else if (task.Regression && !LabelMap.TryParseTarget(label, out _))
            {
                throw new BertSharpException(Invariant($"{IO.LineRef.At(path, line)}: field '{task.LabelColumn}' is '{Short(label)}'; expected a finite number for regression."));
            }
        }
        return new TextExample(text, pair, label, line);
    }

    private static int Column(string path, string[] header, string name, string option, TaskSpec task, bool required, bool requireLabels)
    {
        var idx = Array.IndexOf(header, name);
        // Two columns of the name leave it open which one holds the data; CsvHelper would take the first without a word.
        if (idx >= 0 && Array.IndexOf(header, name, idx + 1) is var again and >= 0)
        {
            throw new BertSharpException(Invariant($"{IO.LineRef.At(path, 1)}: column '{name}' appears twice in the header (columns {idx + 1} and {again + 1}); expected one column of each name."));
        }
        if (idx < 0)
        {
            var ci = header.Select((h, i) => (h, i)).Where(x => string.Equals(x.h, name, StringComparison.OrdinalIgnoreCase)).ToList();
            idx = ci.Count == 1 ? ci[0].i : -1;
        }
        if (idx < 0 && required)
        {
            var how = task.KnownLabels is null ? $"; choose it with {option}" : $" (task {task.Name} expects {Expectation(task, requireLabels)})";
            // One column holding the other separator: the column is there, the file is the other format, and --text-column
            // (what the line advised) could not find it.
            if (header.Length == 1 && task.Format is DataFormat.Csv or DataFormat.Tsv)
            {
                var (sep, other, otherTask) = task.Format == DataFormat.Csv ? ('\t', "tabs, not commas", "tsv") : (',', "commas, not tabs", "csv");
                if (header[0].Contains(sep, StringComparison.Ordinal))
                {
                    var expected = task.Format == DataFormat.Csv ? "comma" : "tab";
                    throw new BertSharpException(
                        $"{IO.LineRef.At(path, 1)}: missing column '{name}' in the header (columns: {Short(header[0], 60)}): the header is separated by {other}; " +
                        $"expected {expected}-separated columns for task {task.Name} ({BertSharpException.Field("task")} {otherTask} reads {(expected == "comma" ? "tab" : "comma")}-separated ones).");
                }
            }
            var columns = string.Join(", ", header.Select(h => Short(h, 30)));
            // A file without a header row: its first example was read as the header, and "choose it with --text-column" sent
            // the learner looking for a column name no option could give.
            if (task.FixedColumns is null && LooksLikeExample(header, task, requireLabels))
            {
                throw new BertSharpException(
                    $"{IO.LineRef.At(path, 1)}: missing column '{name}' in the header (columns: {columns}): the first line looks like an example, not a header; " +
                    $"task {task.Name} expects {Expectation(task, requireLabels)} (then one example per line).");
            }
            throw new BertSharpException($"{IO.LineRef.At(path, 1)}: missing column '{name}' in the header (columns: {columns}){how}.");
        }
        return idx;
    }

    /// <summary>
    /// Whether a header that lacks a column reads as data: a cell is a number or one of the task's labels (no column is named
    /// so), or no cell names a column the task reads and one is a sentence (three words or more) rather than a name.
    /// </summary>
    private static bool LooksLikeExample(string[] header, TaskSpec task, bool requireLabels)
    {
        if (header.Any(h => double.TryParse(h, NumberStyles.Float, CultureInfo.InvariantCulture, out _)
                            || task.KnownLabels?.Any(k => string.Equals(k.Key, h.Trim(), StringComparison.OrdinalIgnoreCase)) == true))
        {
            return true;
        }
        string?[] expected = [task.TextColumn, task.TextPairColumn, requireLabels ? task.LabelColumn : null];
        return !header.Any(h => expected.Any(e => string.Equals(e, h.Trim(), StringComparison.OrdinalIgnoreCase)))
               && header.Any(h => h.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length >= 3);
    }

    /// <summary>A text column whose every value is a number was almost certainly given by mistake (e.g. the label column).</summary>
    private static void CheckIsText(string path, List<TextExample> examples, string column, Func<TextExample, string> get)
    {
        if (examples.All(e => double.TryParse(get(e), NumberStyles.Float, CultureInfo.InvariantCulture, out _)))
        {
            var first = examples[0];
            throw new BertSharpException(
                Invariant($"{IO.LineRef.At(path, first.Line)}: column '{column}' holds numbers (e.g. '{Short(get(first))}'), not text; choose the text column with {BertSharpException.Field("text_column")}."));
        }
    }

    private static string CleanText(string s, TaskSpec task)
    {
        if (task.CleanHtmlBreaks)
        {
            s = s.Replace("<br />", " ", StringComparison.Ordinal).Replace("<br/>", " ", StringComparison.Ordinal)
                .Replace("<br>", " ", StringComparison.Ordinal);
        }
        return s.Trim();
    }

    private static string Short(string? s, int max = 40) =>
        s is null ? "" : s.Length <= max ? s : s[..max] + "…";
}
