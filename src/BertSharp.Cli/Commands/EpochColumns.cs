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
internal sealed record EpochColumn(string Header, string Metric, bool IfReported = false);

/// <summary>
/// The validation columns of the epoch table, per task: only the metrics the task's validation computes, since an n/a
/// there reads as an undefined value (as a constant regression's pearson), not as a metric the task has none of.
/// </summary>
internal static class EpochColumns
{
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
        HeadTask.QuestionAnswering =>
        [
            new("val exact", "exact"), new("val f1", "f1"),
            new("val HasAns_f1", "HasAns_f1", IfReported: true), new("val NoAns_f1", "NoAns_f1", IfReported: true),
        ],
        _ => [Loss, Accuracy],
    };

    /// <summary>The columns a run shows, decided by its first epoch's validation (null: none was run).</summary>
    public static IReadOnlyList<EpochColumn> Shown(IReadOnlyList<EpochColumn> columns, MetricsReport? validation) =>
        [.. columns.Where(c => !c.IfReported || validation?.Values.ContainsKey(c.Metric) == true)];
}
