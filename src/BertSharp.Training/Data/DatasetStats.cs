using System.Globalization;
using System.Text;
using BertSharp.Runtime;
using BertSharp.Tokenization;

namespace BertSharp.Data;

/// <summary>What <c>bert data stats</c> reports about a task file.</summary>
/// <param name="Path">The file.</param>
/// <param name="Task">Its task.</param>
/// <param name="Examples">Number of examples.</param>
/// <param name="Labels">Label (its name for built-in tasks) → count, most frequent first; empty without labels or for regression.</param>
/// <param name="LabelBlocks">The label blocks when the file is sorted by label, else null.</param>
/// <param name="TokenLengths">Word pieces per example with [CLS]/[SEP] (sorted ascending), or null without a tokenizer.</param>
/// <param name="UnknownShare">Share of word pieces that are [UNK], or NaN without a tokenizer.</param>
public sealed record DatasetStats(string Path, TaskSpec Task, int Examples, IReadOnlyList<(string Label, int Count)> Labels,
    IReadOnlyList<(string Label, int FirstLine, int LastLine, int Count)>? LabelBlocks, int[]? TokenLengths, double UnknownShare)
{
    /// <summary>The labels of a regression task as numbers (the labelled examples', in file order), or null for a classification task.</summary>
    public IReadOnlyList<double>? Targets { get; init; }

    // The counts and lengths as values, not type names: a user prints the stats of a file.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append(Invariant($"Path = {Path}, Task = {RecordText.Value(Task)}, Examples = {Examples}, Labels = {RecordText.List(Labels)}, ")
            + Invariant($"LabelBlocks = {RecordText.Value(LabelBlocks)}, TokenLengths = {RecordText.Value(TokenLengths)}, ")
            + Invariant($"UnknownShare = {UnknownShare}, Targets = {RecordText.Value(Targets)}"));
        return true;
    }

    /// <summary>The percentiles <see cref="Format"/> prints.</summary>
    public static IReadOnlyList<double> Percentiles { get; } = [50, 90, 95, 99];

    /// <summary>Counts a dataset; with <paramref name="tokenizer"/> also its token lengths.</summary>
    public static DatasetStats Compute(TextDataset data, TaskSpec task, BertTokenizer? tokenizer)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(task);
        var labels = task.Regression
            ? []
            : data.Examples.Where(e => e.Label is not null).GroupBy(e => e.Label!, StringComparer.Ordinal)
                .Select(g => (Label: g.Key, Count: g.Count()))
                .OrderByDescending(x => x.Count).ThenBy(x => x.Label, StringComparer.Ordinal).ToList();
        int[]? lengths = null;
        var unknown = double.NaN;
        if (tokenizer is not null)
        {
            var noSpecials = new EncodeOptions { AddSpecialTokens = false, Truncation = TruncationStrategy.None };
            long pieces = 0, unk = 0;
            lengths = new int[data.Count];
            for (var i = 0; i < data.Count; i++)
            {
                var e = data.Examples[i];
                var a = tokenizer.EncodeIds(e.Text, null, noSpecials);
                var b = e.TextPair is null ? [] : tokenizer.EncodeIds(e.TextPair, null, noSpecials);
                lengths[i] = a.Length + b.Length + (e.TextPair is null ? 2 : 3);
                pieces += a.Length + b.Length;
                unk += a.Count(id => id == tokenizer.UnkId) + b.Count(id => id == tokenizer.UnkId);
            }
            Array.Sort(lengths);
            unknown = pieces == 0 ? 0 : (double)unk / pieces;
        }
        return new DatasetStats(data.Path, task, data.Count, labels, task.Regression ? null : DataSplit.LabelBlocks(data), lengths, unknown)
        {
            // The reader has checked that each is a number.
            Targets = task.Regression
                ? [.. data.Examples.Where(e => e.Label is not null).Select(e => double.Parse(e.Label!, NumberStyles.Float, CultureInfo.InvariantCulture))]
                : null,
        };
    }

    /// <summary>The <paramref name="p"/>-th percentile (0-100) of sorted values, interpolated linearly as numpy's default.</summary>
    public static double Percentile(IReadOnlyList<int> sorted, double p)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        if (sorted.Count == 0)
        {
            return double.NaN;
        }
        var rank = p / 100 * (sorted.Count - 1);
        var lo = (int)Math.Floor(rank);
        var hi = Math.Min(lo + 1, sorted.Count - 1);
        return sorted[lo] + ((rank - lo) * (sorted[hi] - sorted[lo]));
    }

    /// <summary>Share of examples longer than <paramref name="maxLength"/> tokens (they would be truncated there).</summary>
    public double ShareOver(int maxLength) =>
        TokenLengths is null || TokenLengths.Length == 0 ? double.NaN : (double)TokenLengths.Count(l => l > maxLength) / TokenLengths.Length;

    /// <summary>The report as text.</summary>
    /// <param name="lengths">Lengths to report the truncated share at (e.g. 128, 256, 512).</param>
    /// <param name="tokenizerNote">What tokenized the text (vocabulary and lower-casing), for the heading.</param>
    /// <param name="show">
    /// How each name from the user's files (the path, column names, labels, the tokenizer note) is written, e.g. with its
    /// control characters escaped for a terminal; as it is when null.
    /// </param>
    public string Format(IReadOnlyList<int> lengths, string? tokenizerNote = null, Func<string, string>? show = null)
    {
        ArgumentNullException.ThrowIfNull(lengths);
        // Applied name by name: a caller cannot escape the finished report, whose lines a label with a line break would split.
        show ??= static s => s;
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        var pair = Task.TextPairColumn is null ? "" : $", pair column '{show(Task.TextPairColumn)}'";
        sb.Append(inv, $"{show(Path)}: {Examples:N0} examples (task {Task.Name}; text column '{show(Task.TextColumn)}'{pair}, label column '{show(Task.LabelColumn)}')\n");
        if (Labels.Count > 0)
        {
            // Unlabelled lines (a JSONL object without the label field; stats reads them, finetune refuses them) are no
            // label's share: over all examples the shares summed to less than 100 % and the baseline looked worse.
            var labelled = Labels.Sum(l => l.Count);
            var unlabelled = Examples - labelled;
            sb.Append("labels: ").AppendJoin(", ", Labels.Select(l => string.Create(inv, $"{show(l.Label)} {l.Count:N0} ({100.0 * l.Count / labelled:0.0} %)")));
            sb.Append(unlabelled == 0 ? "\n" : string.Create(inv, $"; {unlabelled:N0} example{(unlabelled == 1 ? "" : "s")} without a label\n"));
            sb.Append(inv, $"majority baseline: accuracy {(double)Labels[0].Count / labelled:0.0000} by always answering {show(Labels[0].Label)}");
            sb.Append(unlabelled == 0 ? "\n" : string.Create(inv, $" (of the {labelled:N0} labelled examples)\n"));
        }
        else if (Targets is { Count: > 0 } y)
        {
            // A regression file said nothing about its labels, where a classification file shows its distribution.
            var mean = y.Average();
            // Population variance (numpy's std, ddof=0): it is also the mean baseline's MSE below.
            var variance = y.Sum(v => (v - mean) * (v - mean)) / y.Count;
            var unlabelled = Examples - y.Count;
            sb.Append(inv, $"labels (regression): {y.Count:N0} values, min {y.Min():0.####}  max {y.Max():0.####}  mean {mean:0.####}  std {Math.Sqrt(variance):0.####}");
            sb.Append(unlabelled == 0 ? "\n" : string.Create(inv, $"; {unlabelled:N0} example{(unlabelled == 1 ? "" : "s")} without a label\n"));
            // The regression counterpart of the majority baseline: the MSE a model has to beat.
            sb.Append(inv, $"mean baseline: mse {variance:0.0000} by always answering {mean:0.####}\n");
        }
        else if (Examples > 0)
        {
            // The heading names the label column; over a file without it the report said nothing more.
            sb.Append(inv, $"labels: none (no example has the label column '{show(Task.LabelColumn)}')\n");
        }
        if (LabelBlocks is { } blocks)
        {
            sb.Append("order: sorted by label — ").Append(DataSplit.DescribeBlocks([.. blocks.Select(b => (show(b.Label), b.FirstLine, b.LastLine, b.Count))]))
                .Append("; the file's tail is not a fair validation set (finetune splits stratified by label)\n");
        }
        if (TokenLengths is { Length: > 0 } t)
        {
            sb.Append("word pieces per example, [CLS]/[SEP] included").Append(tokenizerNote is null ? "" : $" ({show(tokenizerNote)})").Append(":\n");
            sb.Append(inv, $"  min {t[0]:N0}  ");
            foreach (var p in Percentiles)
            {
                sb.Append(inv, $"p{p:0} {Percentile(t, p):#,0.#}  ");
            }
            sb.Append(inv, $"max {t[^1]:N0}  mean {t.Average():N1}\n");
            sb.Append("  longer than: ").AppendJoin("  ", lengths.Select(l => string.Create(inv, $"{l} {100 * ShareOver(l):0.0} %"))).Append('\n');
            sb.Append(inv, $"  [UNK]: {100 * UnknownShare:0.00} % of word pieces\n");
        }
        return sb.ToString();
    }
}
