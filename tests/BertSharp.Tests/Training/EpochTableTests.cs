using System.Globalization;
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

    private static FinetuneProgressView View(string task, TextWriter rows, TextWriter? messages = null) => task switch
    {
        "sst2" or "cola" => new FinetuneProgressView(task == "cola" ? "mcc" : "accuracy", regression: false, rows, messages),
        "stsb" => new FinetuneProgressView("pearson", regression: true, rows, messages),
        "ner" => new FinetuneProgressView(HeadTask.TokenClassification, rows, messages),
        "swag" => new FinetuneProgressView(HeadTask.MultipleChoice, rows, messages),
        _ when task.StartsWith("squad", StringComparison.Ordinal) => new FinetuneProgressView(HeadTask.QuestionAnswering, rows, messages),
        _ => throw new ArgumentException(task),
    };

    private static (FinetuneProgressView View, MetricsReport? Validation) Case(string name, StringWriter rows) => (View(name, rows), name switch
    {
        "sst2" or "cola" => MetricsReport.FromValues(["neg", "pos"], 4, [new("accuracy", 0.75), new("mcc", 0.5), new("f1", 0.8), new("loss", 0.25)]),
        "stsb" => MetricsReport.FromValues([], 4, [new("pearson", 0.5), new("spearman", 0.4), new("loss", 1.5)]),
        "ner" => MetricsReport.ForTagging(new TaggingEvaluation(SeqevalMetrics.Evaluate([["B-PER", "O"]], [["B-PER", "O"]]), 0.25, [], 0), 1),
        "squad v1.1" => Qa(Both, version2: false),
        "squad v2.0" => Qa(Both, version2: true),
        "squad v2.0, all answerable" => Qa(Both with { Total = 2, NoAnsTotal = 0, NoAnsExact = double.NaN }, version2: true),
        "squad, no validation" => null,
        "swag" => MetricsReport.FromValues([], 4, new ChoiceEvaluation(0.75, 0.25, [], []).Values()),
        _ => throw new ArgumentException(name),
    });

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
    [InlineData("squad v2.0", "val exact|val f1|HasAns_f1|NoAns_f1", "75.0000|80.0000|60.0000|100.0000")]
    [InlineData("squad v2.0, all answerable", "val exact|val f1|HasAns_f1", "75.0000|80.0000|60.0000")]
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

    // The widest values of a long run: the validation scores of each task at their widest (a loss of 10.1234, a correlation
    // of -0.1234, SQuAD's percentages up to 100.0000), every metric the task's table can show.
    public static TheoryData<string, string> LongRunValidation => new()
    {
        { "sst2", "loss=10.1234 accuracy=0.8765 mcc=-0.1234 f1=0.8765" },
        { "cola", "loss=10.1234 accuracy=0.8765 mcc=-0.1234 f1=0.8765" },
        { "stsb", "loss=10.1234 pearson=-0.1234 spearman=-0.1234" },
        { "ner", "loss=10.1234 accuracy=0.9876 f1=0.8765" },
        { "squad v1.1", "exact=100 f1=100" },
        { "squad v2.0", "exact=100 f1=100 HasAns_f1=88.1234 NoAns_f1=100" },
        { "swag", "loss=10.1234 accuracy=0.8765" },
    };

    // The table, the live progress line and the plain progress lines of a long run fit an 80-column terminal: every column
    // padded to 12 characters made the classification tables 89 wide and SQuAD v2.0's 104, the live table of SQuAD v2.0
    // needed 84 and the live progress line 88, so the terminal wrapped them.
    [Theory]
    [MemberData(nameof(LongRunValidation))]
    public void Every_line_of_a_long_run_fits_an_80_column_terminal(string task, string validation)
    {
        var values = validation.Split(' ').Select(kv => kv.Split('=')).Select(kv => new KeyValuePair<string, double>(kv[0], double.Parse(kv[1], CultureInfo.InvariantCulture)));
        var report = MetricsReport.FromValues([], 10_000, values);
        using var rows = new StringWriter();
        using var messages = new StringWriter();
        var view = View(task, rows, messages);
        // 123,456 batches of 8,192 examples an epoch at 12,345.6 examples a second: 22:45:20 an epoch, and after its first
        // quarter (30,864 batches) the rest takes 61,440 s: ETA 17:04:00. Ten hours or more were one character wider than the
        // elapsed column, and a day or more lost its days (TimeSpan's hours).
        const int batches = 123_456;
        view.Started(new FineTunePlan(batches * 8192, 10_000, Epochs: 12, batches, TotalSteps: 12 * batches, Parameters: 109_482_240, "cpu", [], 0, []));
        foreach (var (epoch, elapsed) in new[] { (10, new TimeSpan(1, 25, 23)), (11, new TimeSpan(1, 2, 45, 20)) })
        {
            view.EpochStarted(epoch, batches);
            view.BatchDone(epoch, 30_864, 10.1234, 12_345.6);
            view.EpochEnded(new EpochSummary(epoch, 10.1234, report, elapsed, 12_345.6, IsBest: true, Step: epoch * batches));
        }
        view.EpochStarted(12, batches);
        view.BatchDone(12, 30_864, 10.1234, 12_345.6);

        var table = rows.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, table.Length);
        Assert.All(table, l => Assert.True(l.Length <= 80, $"{l.Length}: {l}"));
        Assert.All(table, l => Assert.Equal(table[0].Length, l.Length));
        // Nothing was cut: each cell is the value whole.
        var expected = report.Values.Select(kv => MetricsReport.Format(kv.Value)).ToList();
        var last = Cells(table[2]);
        Assert.Equal(["11", "10.1234"], last[..2]);
        Assert.Equal(["26:45:20", "12345.6"], last[^2..]);
        Assert.Equal("1:25:23", Cells(table[1])[^2]);
        Assert.Equal(Cells(table[0]).Length, last.Length);
        Assert.All(last[2..^2], c => Assert.Contains(c, expected));

        // The plain progress lines (stderr when not on a terminal), the plan line aside: its length is the data's.
        var progress = messages.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("epoch ", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, progress.Count);
        Assert.All(progress, l => Assert.EndsWith(" 30864/123456 batches, loss 10.1234, 12345.6 ex/s, ETA 17:04:00", l, StringComparison.Ordinal));
        Assert.All(progress, l => Assert.True(l.Length <= 80, $"{l.Length}: {l}"));

        // The live view on a wide screen, so that nothing is wrapped for it: its natural width.
        using var screen = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(screen), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Interactive = InteractionSupport.No,
        });
        console.Profile.Width = 200;
        console.Write(view.Render());
        var live = screen.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r', ' ')).ToList();
        Assert.All(live, l => Assert.True(l.Length <= 80, $"{l.Length}: {l}"));
        Assert.Equal(last, live[^3].Split('│')[1..^1].Select(c => c.Trim()));
        Assert.Matches(@"^epoch 12/12 \S+  25% 30864/123456 loss 10\.1234 12345\.6 ex/s ETA 17:04:00$", live[^1]);
    }
}
