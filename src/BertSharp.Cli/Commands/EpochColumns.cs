using BertSharp.Evaluation;
using BertSharp.Training;

namespace BertSharp.Cli.Commands;

/// <summary>A validation column of the fine-tuning epoch table: its header and the metrics.json key it shows.</summary>
/// <param name="Header">The column's header.</param>
/// <param name="Metric">The key of the validation report's value.</param>
/// <param name="IfReported">
/// Shown only when the first epoch's validation reports the metric: SQuAD's v2.0 scores exist for v2.0 data only, and
/// HasAns_ / NoAns_ only when some question is answerable / unanswerable.
/// </param>
/// <param name="ValueWidth">
/// The characters of the column's widest usual value, which the plain table's column holds when its header is narrower:
/// 7 for a loss up to 10.1234 or a score down to -0.1234, 8 for SQuAD's scores up to 100.0000.
/// </param>
internal sealed record EpochColumn(string Header, string Metric, bool IfReported = false, int ValueWidth = EpochColumns.ValueWidth);

/// <summary>
/// The validation columns of the epoch table, per task: only the metrics the task's validation computes, since an n/a
/// there reads as an undefined value (as a constant regression's pearson), not as a metric the task has none of.
/// </summary>
internal static class EpochColumns
{
    /// <summary>The characters of a usual value: a loss of 10.1234, a score of -0.1234, 12345.6 ex/s.</summary>
    public const int ValueWidth = 7;

    /// <summary>
    /// The characters of an epoch's time up to 99:59:59: at 7, an epoch of ten hours or more (10:00:00) pushed its row's
    /// last cell one character right of the others'.
    /// </summary>
    public const int ElapsedWidth = 8;

    /// <summary>The characters of a step up to 99999 (the step column of a run with --eval-steps).</summary>
    public const int StepWidth = 5;

    /// <summary>The characters of a fractional epoch such as 1.6667 (a run with --eval-steps).</summary>
    public const int FractionalEpochWidth = 6;

    // SQuAD's scores are percentages: 100.0000.
    private const int PercentWidth = 8;

    private static readonly EpochColumn Loss = new("val loss", "loss");
    private static readonly EpochColumn Accuracy = new("val acc", "accuracy");

    /// <summary>Sequence classification (<paramref name="primaryMetric"/> is the task's) or regression.</summary>
    public static IReadOnlyList<EpochColumn> Classification(string primaryMetric, bool regression) =>
        regression
            ? [Loss, new("val pearson", "pearson"), new("val spearman", "spearman")]
            : [Loss, Accuracy, primaryMetric == "accuracy" ? new("val mcc", "mcc") : new("val " + primaryMetric, primaryMetric)];

    /// <summary>A task head: the metrics of its <c>HeadEvaluation</c> values worth a column (NER's per-type ones are not).</summary>
    public static IReadOnlyList<EpochColumn> Head(HeadTask task) => task switch
    {
        HeadTask.TokenClassification => [Loss, Accuracy, new("val f1", "f1")],
        // No loss: SQuAD's validation scores the decoded answers only.
        // The v2.0 subsets are headed by their metrics.json keys alone, which say they are evaluation scores: with a "val "
        // before each, SQuAD v2.0's table needed 85 characters at usual values and an 80-column terminal wrapped it.
        HeadTask.QuestionAnswering =>
        [
            new("val exact", "exact", ValueWidth: PercentWidth), new("val f1", "f1", ValueWidth: PercentWidth),
            new("HasAns_f1", "HasAns_f1", IfReported: true, ValueWidth: PercentWidth),
            new("NoAns_f1", "NoAns_f1", IfReported: true, ValueWidth: PercentWidth),
        ],
        _ => [Loss, Accuracy],
    };

    /// <summary>The columns a run shows, decided by its first epoch's validation (null: none was run).</summary>
    public static IReadOnlyList<EpochColumn> Shown(IReadOnlyList<EpochColumn> columns, MetricsReport? validation) =>
        [.. columns.Where(c => !c.IfReported || validation?.Values.ContainsKey(c.Metric) == true)];
}
