using BertSharp.Data;

namespace BertSharp.Cli.Commands;

/// <summary>Texts (and optional labels) for <c>bert embed</c>: .txt (one text per line), .jsonl, .csv or .tsv (header row).</summary>
internal static class EmbedInput
{
    public static (List<string> Texts, List<string>? Labels) Read(string path, string textColumn, string? labelColumn, string option = "--input")
    {
        var (texts, labels, _) = ReadNumbered(path, textColumn, labelColumn, option);
        return (texts, labels);
    }

    /// <summary><see cref="Read"/>, with the 1-based line of the file each text starts on (for messages that name a text by its line).</summary>
    public static (List<string> Texts, List<string>? Labels, List<int> Lines) ReadNumbered(string path, string textColumn, string? labelColumn, string option = "--input")
    {
        CliInput.ExistingFile(option, path);
        var ext = Path.GetExtension(path).ToLowerInvariant();
        var (texts, labels, lines) = ext switch
        {
            ".txt" => labelColumn is null
                ? NonBlankLines(path, option)
                : throw new BertSharpException($"--label-column: a .txt input has no columns; use .csv, .tsv or .jsonl ({path})."),
            // The readers fine-tuning and predict use (strict UTF-8, line-numbered errors, RFC 4180 / GLUE quoting).
            ".jsonl" or ".csv" or ".tsv" => Columns(DatasetReader.Read(path, TaskSpec.Get(ext.TrimStart('.'), textColumn, null, labelColumn),
                requireLabels: labelColumn is not null), labelColumn is not null),
            _ => throw new BertSharpException($"{option} {path}: expected a .txt, .jsonl, .csv or .tsv file."),
        };
        if (texts.Count == 0)
        {
            throw new BertSharpException($"{option} {path}: no texts.");
        }
        return (texts, labels, lines);
    }

    /// <summary>Texts and label names of a file in a task's format (the reader names built-in tasks' labels: 0 → negative).</summary>
    /// <remarks>
    /// A sentence pair (mrpc) is one text, its sentences joined by a space: a bi-encoder embeds single texts (as
    /// sentence-transformers does), and the text is what the output and the search results show.
    /// </remarks>
    public static (List<string> Texts, List<string>? Labels) ReadTask(string path, string taskName, string command)
    {
        DataOptions.RefuseHeadTask(taskName, command);
        var data = DatasetReader.Read(path, TaskSpec.Get(taskName), requireLabels: false);
        var labels = data.Examples.All(e => e.Label is null) ? null : data.Examples.Select(e => e.Label ?? "").ToList();
        return ([.. data.Examples.Select(e => e.TextPair is null ? e.Text : e.Text + " " + e.TextPair)], labels);
    }

    /// <summary>
    /// Label names for raw labels that are class ids of a classifier whose config names them (id2label other than LABEL_i);
    /// other labels are returned as they are.
    /// </summary>
    public static List<string>? NameLabels(List<string>? labels, IReadOnlyDictionary<int, string> id2Label)
    {
        if (labels is null || id2Label.All(kv => kv.Value == $"LABEL_{kv.Key}"))
        {
            return labels;
        }
        var ids = labels.Select(l => int.TryParse(l, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var i) ? i : -1).ToList();
        return ids.All(id2Label.ContainsKey) ? [.. ids.Select(i => id2Label[i])] : labels;
    }

    /// <summary>The lines of a .txt input that hold text; says how many blank ones were skipped, since the output's rows are then not the file's lines.</summary>
    private static (List<string> Texts, List<string>? Labels, List<int> Lines) NonBlankLines(string path, string option)
    {
        var lines = IO.TextLines.Read(path).ToList();
        var numbers = Enumerable.Range(0, lines.Count).Where(i => lines[i].Trim().Length > 0).ToList();
        var texts = numbers.Select(i => lines[i]).ToList();
        if (texts.Count == 0)
        {
            throw CliInput.NoTexts($"{option} {path}", lines.Count);
        }
        var blank = lines.Count - texts.Count;
        if (blank > 0)
        {
            CliErrors.Warn($"{path}: skipped {blank} blank line(s); the output has one row per remaining line ({texts.Count}).");
        }
        return (texts, null, [.. numbers.Select(i => i + 1)]);
    }

    private static (List<string>, List<string>?, List<int>) Columns(TextDataset data, bool withLabels) =>
        ([.. data.Examples.Select(e => e.Text)], withLabels ? [.. data.Examples.Select(e => e.Label ?? "")] : null, [.. data.Examples.Select(e => e.Line)]);
}
