using System.Text.Json;
using System.Text.Json.Nodes;
using BertSharp.Data;
using CsvHelper;

namespace BertSharp.Cli.Commands;

/// <summary>Texts (and optional labels) for <c>bert embed</c>: .txt (one text per line), .jsonl, .csv or .tsv (header row).</summary>
internal static class EmbedInput
{
    public static (List<string> Texts, List<string>? Labels) Read(string path, string textColumn, string? labelColumn, string option = "--input")
    {
        if (!File.Exists(path))
        {
            throw new BertSharpException($"{option} {path}: not found.");
        }
        var ext = Path.GetExtension(path).ToLowerInvariant();
        var (texts, labels) = ext switch
        {
            ".txt" => labelColumn is null
                ? (IO.TextLines.Read(path).Where(l => l.Trim().Length > 0).ToList(), null)
                : throw new BertSharpException($"--label-column: a .txt input has no columns; use .csv, .tsv or .jsonl ({path})."),
            ".jsonl" => ReadJsonl(path, textColumn, labelColumn),
            ".csv" or ".tsv" => ReadDelimited(path, ext == ".tsv" ? '\t' : ',', textColumn, labelColumn),
            _ => throw new BertSharpException($"{option} {path}: expected a .txt, .jsonl, .csv or .tsv file."),
        };
        if (texts.Count == 0)
        {
            throw new BertSharpException($"{option} {path}: no texts.");
        }
        return (texts, labels);
    }

    /// <summary>Texts and label names of a file in a task's format (the reader names built-in tasks' labels: 0 → negative).</summary>
    public static (List<string> Texts, List<string>? Labels) ReadTask(string path, string taskName)
    {
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

    private static (List<string>, List<string>?) ReadJsonl(string path, string textColumn, string? labelColumn)
    {
        var texts = new List<string>();
        var labels = labelColumn is null ? null : new List<string>();
        var line = 0;
        // Strict UTF-8 with line numbers and a bounded line length, as every text input.
        foreach (var raw in IO.TextLines.Read(path))
        {
            line++;
            if (raw.Trim().Length == 0)
            {
                continue;
            }
            JsonObject obj;
            try
            {
                obj = JsonNode.Parse(raw) as JsonObject ?? throw new BertSharpException($"{path}:{line}: expected a JSON object.");
            }
            catch (JsonException e)
            {
                throw new BertSharpException($"{path}:{line}: invalid JSON ({e.Message}).");
            }
            try
            {
                texts.Add(Field(obj, textColumn, path, line, requireString: true));
                labels?.Add(Field(obj, labelColumn!, path, line, requireString: false));
            }
            catch (InvalidOperationException e)
            {
                throw new BertSharpException($"{path}:{line}: a string is not valid Unicode (an escaped lone surrogate such as \\ud800).", e);
            }
        }
        return (texts, labels);
    }

    private static string Field(JsonObject obj, string name, string path, int line, bool requireString) => obj[name] switch
    {
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonValue v when !requireString => v.ToJsonString(),
        null => throw new BertSharpException($"{path}:{line}: no field '{name}'."),
        _ => throw new BertSharpException($"{path}:{line}: field '{name}' must be a {(requireString ? "string" : "string or number")}."),
    };

    private static (List<string>, List<string>?) ReadDelimited(string path, char separator, string textColumn, string? labelColumn)
    {
        var options = new CsvReaderOptions
        {
            Separator = separator,
            Mode = separator == '\t' ? CsvMode.NoEscape : CsvMode.Rfc4180,
            HasHeader = true,
            SkipEmptyLines = true,
            TrackLineNumbers = true,
            MalformedData = CsvMalformedDataHandling.Throw,
        };
        // Checked first as lines: invalid UTF-8 is an error naming its line instead of a silent U+FFFD.
        foreach (var _ in IO.TextLines.Read(path))
        {
        }
        using var reader = CsvReader.Create(File.ReadAllBytes(path), options);
        try
        {
            reader.ReadHeader();
            var header = reader.Headers.Select(h => h.Trim()).ToArray();
            int Column(string name) => Array.IndexOf(header, name) is var i and >= 0
                ? i
                : throw new BertSharpException($"{path}: no column '{name}' (columns: {string.Join(", ", header)}).");
            var t = Column(textColumn);
            var l = labelColumn is null ? -1 : Column(labelColumn);
            var texts = new List<string>();
            var labels = labelColumn is null ? null : new List<string>();
            while (reader.Read())
            {
                if (reader.FieldCount <= Math.Max(t, l))
                {
                    throw new BertSharpException($"{path} line {reader.LineNumber}: {reader.FieldCount} fields, expected {header.Length}.");
                }
                texts.Add(reader.GetString(t) ?? "");
                labels?.Add((reader.GetString(l) ?? "").Trim());
            }
            return (texts, labels);
        }
        catch (CsvFormatException e)
        {
            throw new BertSharpException($"{path} line {e.LineNumber}: malformed CSV ({e.Message.TrimEnd('.')}).", e);
        }
    }
}
