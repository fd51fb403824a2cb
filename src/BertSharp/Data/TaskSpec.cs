using System.Text;
using BertSharp.Runtime;

namespace BertSharp.Data;

/// <summary>
/// How a task's files are laid out (format, columns, label names) and the tutorials' training defaults for it.
/// The built-in tasks (<c>imdb</c>, <c>cola</c>, <c>sst2</c>, <c>mrpc</c>) fix all of this; <c>csv</c>, <c>tsv</c> and
/// <c>jsonl</c> take the columns from the user.
/// </summary>
public sealed record TaskSpec
{
    /// <summary>Task name as typed on the command line.</summary>
    public required string Name { get; init; }

    /// <summary>File layout.</summary>
    public required DataFormat Format { get; init; }

    /// <summary>
    /// Column names for files without a header row (CoLA); null when the first row is the header.
    /// </summary>
    public IReadOnlyList<string>? FixedColumns { get; init; }

    /// <summary>Column holding the (first) text.</summary>
    public required string TextColumn { get; init; }

    /// <summary>Column holding the second text of a pair, or null for single-text tasks.</summary>
    public string? TextPairColumn { get; init; }

    /// <summary>Column holding the label.</summary>
    public required string LabelColumn { get; init; }

    /// <summary>
    /// For built-in tasks: raw label value in the file → label name, in class-id order. Null for user formats, whose
    /// labels are collected from the training data.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, string>>? KnownLabels { get; init; }

    /// <summary>True for regression (float targets, MSE loss, Pearson/Spearman); false for classification.</summary>
    public bool Regression { get; init; }

    /// <summary>Whether to replace the HTML line breaks (<c>&lt;br /&gt;</c>) that IMDb reviews contain.</summary>
    public bool CleanHtmlBreaks { get; init; }

    /// <summary>Default batch size (the tutorials: 32, 16 for IMDb).</summary>
    public int DefaultBatchSize { get; init; } = 32;

    /// <summary>Default number of epochs (the tutorials: 4, 2 for IMDb).</summary>
    public int DefaultEpochs { get; init; } = 4;

    /// <summary>The maximum sequence length of a task that sets none of its own (the tutorials' and HF's example scripts' 128).</summary>
    public const int StandardMaxLength = 128;

    /// <summary>Default maximum sequence length in tokens (<see cref="StandardMaxLength"/>, 512 for IMDb).</summary>
    public int DefaultMaxLength { get; init; } = StandardMaxLength;

    /// <summary>The metric that decides "best" and is shown in the epoch table (accuracy, mcc, f1, pearson).</summary>
    public string PrimaryMetric { get; init; } = "accuracy";

    /// <summary>The tasks with a fixed file format and columns.</summary>
    public static IReadOnlyList<string> BuiltInNames { get; } = ["imdb", "cola", "sst2", "mrpc"];

    /// <summary>Names accepted by <see cref="Get"/>: the built-in tasks, then the generic file formats.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. BuiltInNames, "csv", "tsv", "jsonl"];

    /// <summary>IMDb reviews: CSV <c>review,sentiment</c> (positive/negative), optionally gzip-compressed.</summary>
    public static TaskSpec Imdb { get; } = new()
    {
        Name = "imdb",
        Format = DataFormat.Csv,
        TextColumn = "review",
        LabelColumn = "sentiment",
        KnownLabels = [new("negative", "negative"), new("positive", "positive")],
        CleanHtmlBreaks = true,
        DefaultBatchSize = 16,
        DefaultEpochs = 2,
        DefaultMaxLength = 512,
    };

    /// <summary>CoLA raw release: 4-column TSV without header (source, label, original mark, sentence).</summary>
    public static TaskSpec Cola { get; } = new()
    {
        Name = "cola",
        Format = DataFormat.Tsv,
        FixedColumns = ["source", "label", "mark", "sentence"],
        TextColumn = "sentence",
        LabelColumn = "label",
        KnownLabels = [new("0", "unacceptable"), new("1", "acceptable")],
        PrimaryMetric = "mcc",
    };

    /// <summary>GLUE SST-2: TSV with header <c>sentence\tlabel</c>.</summary>
    public static TaskSpec Sst2 { get; } = new()
    {
        Name = "sst2",
        Format = DataFormat.Tsv,
        TextColumn = "sentence",
        LabelColumn = "label",
        KnownLabels = [new("0", "negative"), new("1", "positive")],
    };

    /// <summary>GLUE MRPC: TSV with header <c>Quality, #1 ID, #2 ID, #1 String, #2 String</c>.</summary>
    public static TaskSpec Mrpc { get; } = new()
    {
        Name = "mrpc",
        Format = DataFormat.Tsv,
        TextColumn = "#1 String",
        TextPairColumn = "#2 String",
        LabelColumn = "Quality",
        KnownLabels = [new("0", "not_equivalent"), new("1", "equivalent")],
        PrimaryMetric = "f1",
    };

    /// <summary>
    /// Resolves a task name. For <c>csv</c>, <c>tsv</c> and <c>jsonl</c> the columns come from the arguments (defaults
    /// <c>text</c> and <c>label</c>); for built-in tasks column arguments are rejected rather than silently ignored.
    /// </summary>
    public static TaskSpec Get(string name, string? textColumn = null, string? textPairColumn = null, string? labelColumn = null,
        bool regression = false)
    {
        var key = (name ?? "").Trim().ToLowerInvariant();
        DataFormat? userFormat = key switch
        {
            "csv" => DataFormat.Csv,
            "tsv" => DataFormat.Tsv,
            "jsonl" or "json" => DataFormat.JsonLines,
            _ => null,
        };
        if (userFormat is { } format)
        {
            return new TaskSpec
            {
                Name = key == "json" ? "jsonl" : key,
                Format = format,
                TextColumn = string.IsNullOrWhiteSpace(textColumn) ? "text" : textColumn,
                TextPairColumn = string.IsNullOrWhiteSpace(textPairColumn) ? null : textPairColumn,
                LabelColumn = string.IsNullOrWhiteSpace(labelColumn) ? "label" : labelColumn,
                Regression = regression,
                PrimaryMetric = regression ? "pearson" : "accuracy",
            };
        }
        var builtIn = BuiltIn(key)
                      ?? throw new BertSharpException($"{BertSharpException.Field("task")} {name}: unknown task; expected one of {string.Join(", ", Names)}.");
        if (textColumn is not null || textPairColumn is not null || labelColumn is not null || regression)
        {
            throw new BertSharpException(
                $"{BertSharpException.Field("task")} {builtIn.Name}: the columns of a built-in task are fixed; use {BertSharpException.Field("task")} csv, tsv or jsonl with {BertSharpException.Field("text_column")}, {BertSharpException.Field("text_pair_column")}, {BertSharpException.Field("label_column")} or {BertSharpException.Field("regression")}.");
        }
        return builtIn;
    }

    /// <summary>Whether <see cref="Get"/> resolves <paramref name="name"/> (a head task's name, such as ner, it does not).</summary>
    internal static bool IsKnown(string name)
    {
        var key = (name ?? "").Trim().ToLowerInvariant();
        return key is "csv" or "tsv" or "jsonl" or "json" || BuiltIn(key) is not null;
    }

    private static TaskSpec? BuiltIn(string key) => key switch
    {
        "imdb" => Imdb,
        "cola" => Cola,
        "sst2" or "sst-2" => Sst2,
        "mrpc" => Mrpc,
        _ => null,
    };

    // The columns and known labels as values, not type names: DatasetStats prints its task.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append(Invariant($"Name = {Name}, Format = {Format}, FixedColumns = {RecordText.Value(FixedColumns)}, TextColumn = {TextColumn}, ")
            + Invariant($"TextPairColumn = {TextPairColumn}, LabelColumn = {LabelColumn}, KnownLabels = {RecordText.Value(KnownLabels)}, Regression = {Regression}, ")
            + Invariant($"CleanHtmlBreaks = {CleanHtmlBreaks}, DefaultBatchSize = {DefaultBatchSize}, DefaultEpochs = {DefaultEpochs}, ")
            + Invariant($"DefaultMaxLength = {DefaultMaxLength}, PrimaryMetric = {PrimaryMetric}"));
        return true;
    }
}
