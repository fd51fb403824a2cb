using System.Text.RegularExpressions;
using BertSharp.Cli.Commands;
using BertSharp.Evaluation;
using BertSharp.Training;
using Spectre.Console;

namespace BertSharp.Tests.Training;

/// <summary>The plain epoch table of <c>bert finetune</c> per task, rendered in-process from made-up validation reports.</summary>
public class EpochTableTests
{
    /// <summary>The cells of a plain table line (columns are two or more spaces apart; a header may hold one space).</summary>
    internal static string[] Cells(string line) => Regex.Split(line.Trim(), " {2,}");

    private static readonly SquadScores Both = new(Exact: 75, F1: 80, Total: 4, HasAnsExact: 50, HasAnsF1: 60, HasAnsTotal: 2, NoAnsExact: 100,
        NoAnsTotal: 2, BestExact: 75, BestExactThreshold: 0.5, BestF1: 80, BestF1Threshold: 0.5);

    private static (FinetuneProgressView View, MetricsReport? Validation) Case(string name, StringWriter rows) => name switch
    {
        "sst2" or "cola" => (new FinetuneProgressView(name == "cola" ? "mcc" : "accuracy", regression: false, rows),
            MetricsReport.FromValues(["neg", "pos"], 4, [new("accuracy", 0.75), new("mcc", 0.5), new("f1", 0.8), new("loss", 0.25)])),
        "stsb" => (new FinetuneProgressView("pearson", regression: true, rows),
            MetricsReport.FromValues([], 4, [new("pearson", 0.5), new("spearman", 0.4), new("loss", 1.5)])),
        "ner" => (new FinetuneProgressView(HeadTask.TokenClassification, rows),
            MetricsReport.ForTagging(new TaggingEvaluation(SeqevalMetrics.Evaluate([["B-PER", "O"]], [["B-PER", "O"]]), 0.25, [], 0), 1)),
        "squad v1.1" => (new FinetuneProgressView(HeadTask.QuestionAnswering, rows), Qa(Both, version2: false)),
        "squad v2.0" => (new FinetuneProgressView(HeadTask.QuestionAnswering, rows), Qa(Both, version2: true)),
        "squad v2.0, all answerable" => (new FinetuneProgressView(HeadTask.QuestionAnswering, rows),
            Qa(Both with { Total = 2, NoAnsTotal = 0, NoAnsExact = double.NaN }, version2: true)),
        "squad, no validation" => (new FinetuneProgressView(HeadTask.QuestionAnswering, rows), null),
        "swag" => (new FinetuneProgressView(HeadTask.MultipleChoice, rows), MetricsReport.FromValues([], 4, new ChoiceEvaluation(0.75, 0.25, [], []).Values())),
        _ => throw new ArgumentException(name),
    };

    private static MetricsReport Qa(SquadScores scores, bool version2) =>
        MetricsReport.FromValues([], scores.Total, new QaEvaluation(scores, [], version2, 0).Values());

    // A column per metric the task's validation computes, once: SQuAD had val loss and val acc at n/a (metrics it has
    // none of), SWAG val acc and val accuracy with the same number. MCC is headed as its metrics.json key whichever task
    // shows it: SST-2's 'val MCC' beside CoLA's 'val mcc' read as two metrics.
    [Theory]
    [InlineData("sst2", "val loss|val acc|val mcc", "0.2500|0.7500|0.5000")]
    [InlineData("cola", "val loss|val acc|val mcc", "0.2500|0.7500|0.5000")]
    [InlineData("stsb", "val loss|val pearson|val spearman", "1.5000|0.5000|0.4000")]
    [InlineData("ner", "val loss|val acc|val f1", "0.2500|1.0000|1.0000")]
    [InlineData("squad v1.1", "val exact|val f1", "75.0000|80.0000")]
    [InlineData("squad v2.0", "val exact|val f1|val HasAns_f1|val NoAns_f1", "75.0000|80.0000|60.0000|100.0000")]
    [InlineData("squad v2.0, all answerable", "val exact|val f1|val HasAns_f1", "75.0000|80.0000|60.0000")]
    [InlineData("squad, no validation", "val exact|val f1", "-|-")]
    [InlineData("swag", "val loss|val acc", "0.2500|0.7500")]
    public void The_epoch_table_has_a_column_per_metric_of_the_task(string task, string validationColumns, string validationCells)
    {
        using var rows = new StringWriter();
        var (view, validation) = Case(task, rows);
        for (var epoch = 1; epoch <= 2; epoch++)
        {
            view.EpochEnded(new EpochSummary(epoch, 0.5, validation, TimeSpan.FromSeconds(61), 12.5, IsBest: true, Step: 4 * epoch));
        }
        var lines = rows.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.Equal(["epoch", "train loss", .. validationColumns.Split('|'), "elapsed", "ex/s"], Cells(lines[0]));
        Assert.Equal(["2", "0.5000", .. validationCells.Split('|'), "1:01", "12.5"], Cells(lines[2]));
        // Columns line up: a header wider than the others' 12 characters widens its column.
        Assert.All(lines, l => Assert.Equal(lines[0].Length, l.Length));

        // The live view fits an 80-column terminal whole: its headers were cut (SQuAD v2.0's val HasAns_f1) and the cells
        // beside them wrapped.
        using var screen = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(screen), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Interactive = InteractionSupport.No,
        });
        console.Profile.Width = 80;
        console.Write(view.Render());
        var live = screen.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToList();
        Assert.All(live, l => Assert.True(l.Length <= 80, l));
        // Top border, a header of two lines, the rule, two rows, the bottom border.
        Assert.Equal(7, live.Count);
        string[] LiveCells(string line) => [.. line.Split('│')[1..^1].Select(c => c.Trim())];
        var (top, bottom) = (LiveCells(live[1]), LiveCells(live[2]));
        Assert.Equal(Cells(lines[0]), top.Zip(bottom, (t, b) => (t + " " + b).Trim()));
        Assert.Equal(Cells(lines[2]), LiveCells(live[5]));
    }
}
