using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using BertSharp.Evaluation;
using BertSharp.Modeling;

namespace BertSharp.Training;

/// <summary>
/// HF transformers' formatting rules for a model card (modelcard.py): <c>_maybe_round</c>, the metric names
/// <c>parse_log_history</c> makes from log keys, <c>make_markdown_table</c>, and scalars of the YAML front matter.
/// Kept to the letter so that a card written here reads as one the Trainer wrote.
/// </summary>
internal static class ModelCardFormat
{
    // Scalars PyYAML would read back as something other than the string (booleans, nulls, numbers) are quoted.
    private static readonly Regex PlainScalar = new(@"^[A-Za-z][A-Za-z0-9._/-]*( [A-Za-z0-9._/-]+)*$", RegexOptions.CultureInvariant);
    private static readonly HashSet<string> YamlWords = new(StringComparer.OrdinalIgnoreCase) { "true", "false", "yes", "no", "on", "off", "null", "y", "n" };

    /// <summary>A number as <c>_maybe_round</c> shows it: a float with more than 4 decimals in Python's repr to 4 (<c>f"{v:.4f}"</c>), else that repr.</summary>
    public static string MaybeRound(double value)
    {
        var repr = PythonRepr(value);
        var parts = repr.Split('.');
        return parts.Length > 1 && parts[1].Length > 4 ? value.ToString("F4", CultureInfo.InvariantCulture) : repr;
    }

    /// <summary>
    /// A metric's cell: a count (<see cref="MetricsReport.IsCount"/>), which HF's log history holds as an int, as <c>str</c>
    /// writes an int (<c>14</c>, where <c>_maybe_round</c> leaves ints alone); any other value through <see cref="MaybeRound(double)"/>.
    /// </summary>
    public static string MaybeRound(string metric, double value) =>
        MetricsReport.IsCount(metric) && double.IsFinite(value) && value == Math.Floor(value)
            ? ((long)value).ToString(CultureInfo.InvariantCulture)
            : MaybeRound(value);

    /// <summary>
    /// libtorch's version as <c>torch.__version__</c> has it (<c>2.10.0</c>): TorchSharp's <c>__version__</c> is its libtorch
    /// package's as a four-part .NET version (<c>2.10.0.0</c>), whose fourth part torch's versions do not have.
    /// </summary>
    public static string TorchVersion(string torchSharpLibTorchVersion) =>
        string.Join('.', torchSharpLibTorchVersion.Split('.').Take(3));

    /// <summary>A float as Python's <c>repr</c> writes it, NaN and infinities included (<c>nan</c>, <c>inf</c>).</summary>
    public static string PythonRepr(double value) => double.IsNaN(value) ? "nan"
        : double.IsInfinity(value) ? (value > 0 ? "inf" : "-inf")
        : ModuleTree.PythonFloat(value);

    /// <summary>A log key as the card names it: each <c>_</c>-separated part capitalised as Python's <c>str.capitalize</c> does (<c>macro_f1</c> → <c>Macro F1</c>).</summary>
    public static string MetricName(string key) =>
        string.Join(' ', key.Split('_').Select(p => p.Length == 0 ? p : char.ToUpperInvariant(p[0]) + p[1..].ToLowerInvariant()));

    /// <summary>
    /// <c>make_markdown_table</c>: the first row's keys as the header, each column as wide as its widest cell, every cell
    /// left-aligned with one space before it and at least one after, the separator row centred (<c>|:---:|</c>).
    /// </summary>
    /// <param name="header">The column names.</param>
    /// <param name="rows">The cells, already formatted, one array per row in <paramref name="header"/>'s order.</param>
    public static string MarkdownTable(IReadOnlyList<string> header, IReadOnlyList<IReadOnlyList<string>> rows)
    {
        if (rows.Count == 0)
        {
            return "";
        }
        var widths = header.Select((h, i) => rows.Select(r => r[i].Length).Prepend(h.Length).Max()).ToList();
        var sb = new StringBuilder();
        void Line(IReadOnlyList<string> cells)
        {
            for (var i = 0; i < cells.Count; i++)
            {
                sb.Append("| ").Append(cells[i]).Append(' ', widths[i] - cells[i].Length + 1);
            }
            sb.Append("|\n");
        }
        Line(header);
        foreach (var w in widths)
        {
            sb.Append("|:").Append('-', w).Append(':');
        }
        sb.Append("|\n");
        foreach (var r in rows)
        {
            Line(r);
        }
        return sb.ToString();
    }

    /// <summary>A string as a YAML scalar: plain when it cannot be read as anything else, else double-quoted (JSON's escapes are YAML's).</summary>
    public static string YamlString(string value) =>
        PlainScalar.IsMatch(value) && !YamlWords.Contains(value) ? value : JsonSerializer.Serialize(value);
}
