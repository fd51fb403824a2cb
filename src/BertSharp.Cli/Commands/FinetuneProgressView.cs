using System.Diagnostics;
using System.Globalization;
using BertSharp.Evaluation;
using BertSharp.Training;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace BertSharp.Cli.Commands;

/// <summary>
/// Shows a fine-tuning run: on a terminal a live view on stderr (per-epoch bar with loss, examples/s and ETA above the
/// table of finished epochs); otherwise plain progress lines on stderr. The epoch table rows always go to stdout.
/// </summary>
internal sealed class FinetuneProgressView : IFineTuneProgress
{
    private Table _table;
    private readonly IReadOnlyList<EpochColumn> _allColumns;
    // The task's validation columns until the first epoch ends; then those its validation reports (EpochColumns.Shown).
    private IReadOnlyList<EpochColumn> _columns;
    private readonly bool _regression;
    // A run validating every --eval-steps steps: a row per validation, headed by its step and HF's fractional epoch.
    private bool _atSteps;
    private readonly TextWriter _rows;
    private readonly TextWriter? _messages;
    // Console.Error as it is when a message is written (a caller may redirect it after the view is made).
    private TextWriter Messages => _messages ?? Console.Error;
    private LiveDisplayContext? _live;
    // The console the live view draws with: a line written through it goes above the view, which is drawn again below it.
    private IAnsiConsole? _console;
    private FineTunePlan? _plan;
    private int _epoch;
    private int _batches;
    private int _batch;
    private double _lossSum;
    // Batches whose loss is in _lossSum: fewer than _batch when the run resumed mid-epoch (the earlier batches' losses are
    // not reported again), so the running loss is the mean of the batches shown, not their sum over the epoch's index.
    private int _lossCount;
    private double _rate;
    private string _status = "";
    private readonly Stopwatch _sinceRefresh = Stopwatch.StartNew();
    private int _lastPlainQuarter = -1;
    private bool _headerPrinted;
    private bool _correlationWarned;
    // The label the last validated epoch predicted for every example, or null: an epoch collapsed onto that same label again
    // is not warned (the table's mcc column already shows 0), so a run collapsed for 50 epochs says it once, not 50 times.
    // Each bert process makes a new view, so a resumed run that is still collapsed warns once afresh at its first epoch.
    private string? _collapsedOnto;

    /// <summary>The view of a sequence-classification (or regression) run.</summary>
    public FinetuneProgressView(string primaryMetric, bool regression, TextWriter? rows = null, TextWriter? messages = null)
        : this(EpochColumns.Classification(primaryMetric, regression), regression, rows, messages)
    {
    }

    /// <summary>The view of a task head's run.</summary>
    public FinetuneProgressView(HeadTask task, TextWriter? rows = null, TextWriter? messages = null)
        : this(EpochColumns.Head(task), regression: false, rows, messages)
    {
    }

    /// <param name="columns">The validation columns (<see cref="EpochColumns"/>).</param>
    /// <param name="regression">Whether the run is a regression (its undefined correlations are explained once).</param>
    /// <param name="rows">Where the plain epoch table goes (stdout when null).</param>
    /// <param name="messages">Where the plan, the plain progress lines and the warnings go (stderr when null).</param>
    private FinetuneProgressView(IReadOnlyList<EpochColumn> columns, bool regression, TextWriter? rows, TextWriter? messages)
    {
        _regression = regression;
        _rows = rows ?? Console.Out;
        _messages = messages;
        _allColumns = columns;
        _columns = EpochColumns.Shown(columns, null);
        _table = NewTable();
    }

    private Table NewTable()
    {
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var (c, _) in Columns)
        {
            // A header a word per line: on one line SQuAD v2.0's eight columns needed 92 characters, and an 80-column terminal
            // cut "val HasAns_f1" and the cells beside it. The plain table keeps one-line headers (it is read by scripts).
            // No padding right of the right-aligned cells, whose border is space enough: with it SQuAD v2.0's table needed 84
            // characters at usual values (100.0000, 1:23:45, 12345.6 ex/s).
            table.AddColumn(new TableColumn(Markup.Escape(c.Replace(' ', '\n'))).RightAligned().PadRight(0));
        }
        return table;
    }

    /// <summary>Whether to draw the live view (a terminal on stderr, not disabled).</summary>
    public static bool Interactive =>
        !Console.IsErrorRedirected && Environment.GetEnvironmentVariable("BERTSHARP_NO_PROGRESS") != "1";

    /// <summary>Runs <paramref name="work"/> with this view attached.</summary>
    public T Run<T>(Func<IFineTuneProgress, T> work)
    {
        if (!Interactive)
        {
            return work(this);
        }
        return Run(AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) }), work);
    }

    /// <summary>Runs <paramref name="work"/> with this view drawn live on <paramref name="console"/>.</summary>
    internal T Run<T>(IAnsiConsole console, Func<IFineTuneProgress, T> work)
    {
        T result = default!;
        _console = console;
        try
        {
            console.Live(Render()).AutoClear(false).Start(ctx =>
            {
                _live = ctx;
                result = work(this);
                ctx.UpdateTarget(Render());
                ctx.Refresh();
            });
        }
        finally
        {
            _live = null;
        }
        return result;
    }

    // Each header with the width of its column's usual values (the epoch's is its header's).
    private IReadOnlyList<(string Header, int ValueWidth)> Columns =>
    [
        .. (_atSteps ? [("step", EpochColumns.StepWidth), ("epoch", EpochColumns.FractionalEpochWidth)] : new[] { ("epoch", 0) }),
        ("train loss", EpochColumns.ValueWidth), .. _columns.Select(c => (c.Header, c.ValueWidth)),
        ("elapsed", EpochColumns.ElapsedWidth), ("ex/s", EpochColumns.ValueWidth),
    ];

    /// <summary>
    /// How the plan's notes and warnings name the paths the user typed (<see cref="CliInput.SaidAsTyped"/>): the library's
    /// name the model and its tokenizer files by the full paths they resolved to.
    /// </summary>
    public Func<string, string> AsTyped { get; init; } = text => text;

    public void Started(FineTunePlan plan)
    {
        _plan = plan;
        // The data's names, shown as data: an escape in one drove the terminal.
        var labels = plan.Labels.Count == 0 ? "regression" : CliErrors.Shown(string.Join(", ", plan.Labels));
        Say(
            $"fine-tuning {plan.Parameters:N0} parameters on {plan.Device}: {plan.TrainExamples:N0} training / {plan.ValidationExamples:N0} validation examples, " +
            $"{plan.Epochs} epoch(s) × {plan.BatchesPerEpoch} batches, {plan.TotalSteps} optimizer steps; labels: {labels}");
        foreach (var n in plan.Notes)
        {
            Say("  " + CliErrors.Word(AsTyped(n)));
        }
        if (plan.StartStep > 0)
        {
            Say($"resuming after step {plan.StartStep} of {plan.TotalSteps}");
        }
        foreach (var w in plan.Warnings)
        {
            Warn(CliErrors.Word(AsTyped(w)));
        }
    }

    /// <summary>The collapse warning for a validation report (options named by their flags), or null (also used for the final report).</summary>
    public string? CollapseWarning(MetricsReport? validation, int step, string when) =>
        validation is not null && MajorityCollapse.Detect(validation) is { } d ? Worded(d, step, when) : null;

    private string Worded(CollapseDiagnosis d, int step, string when) =>
        CliErrors.Word(MajorityCollapse.Warning(d, _plan?.LearningRate, _plan?.Parameters, step, when));

    /// <summary>
    /// The collapse warning for an epoch's validation, or null when it did not collapse or collapsed onto the label the
    /// previous validated epoch had collapsed onto: once per collapse, again after a recovery or onto another label.
    /// </summary>
    private string? EpochCollapseWarning(EpochSummary s)
    {
        // An epoch without validation (a data-parallel rank that does not validate) says nothing of a recovery.
        if (s.Validation is null)
        {
            return null;
        }
        var collapse = MajorityCollapse.Detect(s.Validation);
        var previous = _collapsedOnto;
        _collapsedOnto = collapse?.Label;
        var when = s.EvalEpoch is null ? $"epoch {s.Epoch}" : $"step {s.Step}";
        return collapse is not null && collapse.Label != previous ? Worded(collapse, s.Step, when) : null;
    }

    /// <summary>
    /// The warning about the final model's validation report, or null: the collapse warning, else which precisions and
    /// recalls (of classes, or of entity types) are undefined, as <c>bert evaluate</c> says it. Once per run, for the weights
    /// the run publishes: the epochs' reports come from the log, which keeps no confusion matrix nor predicted entity counts,
    /// and a class an early epoch never predicts is no news.
    /// </summary>
    public string? FinalWarning(MetricsReport? validation, int step) =>
        CollapseWarning(validation, step, "final model")
        ?? (UndefinedPrecisionRecall(validation) is { } undefined ? "the final model's validation: " + undefined : null);

    private static string? UndefinedPrecisionRecall(MetricsReport? validation) => validation switch
    {
        { Confusion: { } matrix } => EvaluateCommand.UndefinedPrecisionRecall(ValidationData, validation.Labels, matrix),
        { Entities: { } entities } => HeadTaskCli.UndefinedPrecisionRecall(ValidationData, entities),
        _ => null,
    };

    private const string ValidationData = "the validation data";

    public void EpochStarted(int epoch, int batches)
    {
        _epoch = epoch;
        _batches = batches;
        _batch = 0;
        _lossSum = 0;
        _lossCount = 0;
        _rate = 0;
        _status = "training";
        _lastPlainQuarter = -1;
        Update(force: true);
    }

    public void BatchDone(int epoch, int batch, double loss, double examplesPerSecond)
    {
        _batch = batch;
        _lossSum += loss;
        _lossCount++;
        _rate = examplesPerSecond;
        Update(force: batch == _batches);
    }

    public void Validating(int epoch)
    {
        _status = "validating";
        Update(force: true);
    }

    public void EpochEnded(EpochSummary s)
    {
        if (_table.Rows.Count == 0)
        {
            _atSteps = s.EvalEpoch is not null;
            _columns = EpochColumns.Shown(_allColumns, s.Validation);
            _table = NewTable();
        }
        var row = Row(s);
        _table.AddRow(row.Select(c => new Markup(Markup.Escape(c))).ToArray<IRenderable>());
        _status = "done";
        if (_live is null)
        {
            if (!_headerPrinted)
            {
                _headerPrinted = true;
                _rows.WriteLine(PlainRow([.. Columns.Select(c => c.Header)]));
            }
            _rows.WriteLine(PlainRow(row));
        }
        if (EpochCollapseWarning(s) is { } collapse)
        {
            Warn(collapse);
        }
        if (!_correlationWarned && UndefinedCorrelationWarning(s.Validation) is { } undefined)
        {
            _correlationWarned = true;
            Warn(undefined);
        }
        Update(force: true);
    }

    /// <summary>
    /// Says a warning of the run (<paramref name="text"/> as the CLI words it): above the live view while it is drawn, else as
    /// a plain line of the messages.
    /// </summary>
    public void Warn(string text) => Say("warning: " + text);

    // Every line of the run's messages: one written straight to stderr under the live view was drawn over, or left a copy of
    // the view above it, at the view's next refresh.
    private void Say(string line)
    {
        if (_live is not null && _console is not null)
        {
            _console.Write(new LineAboveView(line));
        }
        else
        {
            Messages.WriteLine(line);
        }
    }

    // A line written while the live view is drawn, as Spectre places it: at the view's top, which the view is drawn below
    // again. Spectre only moves the cursor there, so the line overwrote the view's top row only as far as its own length and
    // the rest of the old view stayed on screen ("512)och│ train│  val│"): it erases the old view first.
    private sealed class LineAboveView(string line) : IRenderable
    {
        private readonly IRenderable _text = new Text(line);

        public Measurement Measure(RenderOptions options, int maxWidth) => _text.Measure(options, maxWidth);

        public IEnumerable<Segment> Render(RenderOptions options, int maxWidth) =>
            [Segment.Control("\u001b[0J"), .. _text.Render(options, maxWidth), Segment.LineBreak];
    }

    /// <summary>
    /// Why the regression columns show n/a, said once per run: the view has only the metrics, so it names the possible causes
    /// and points to <c>bert evaluate</c>, which sees the labels and predictions and names the one that holds.
    /// </summary>
    internal string? UndefinedCorrelationWarning(MetricsReport? validation) =>
        _regression && validation is not null && double.IsNaN(validation.Values.GetValueOrDefault("pearson", 0))
            ? "val pearson and spearman are n/a (undefined, as scipy's NaN): the validation labels or the model's predictions are " +
              "all one value, or there are fewer than 2 validation examples; 'bert evaluate' on the validation file says which."
            : null;

    // A column is as wide as its header or its usual values, whichever is wider: the 12 characters every column had made
    // the classification tables 89 characters wide, SQuAD v2.0's 104, and an 80-column terminal wrapped each row.
    private string PlainRow(IReadOnlyList<string> cells)
    {
        var columns = Columns;
        return string.Join("  ", cells.Select((c, i) => c.PadLeft(Math.Max(columns[i].ValueWidth, columns[i].Header.Length))));
    }

    private string[] Row(EpochSummary s)
    {
        var v = s.Validation;
        string M(string name) => v is null ? "-" : MetricsReport.Format(v.Values.GetValueOrDefault(name, double.NaN));
        string[] at = s.EvalEpoch is { } fractional
            ? [s.Step.ToString(CultureInfo.InvariantCulture), FractionalEpoch(fractional)]
            : [s.Epoch.ToString(CultureInfo.InvariantCulture)];
        return [.. at, MetricsReport.Format(s.TrainLoss), .. _columns.Select(c => M(c.Metric)),
            Elapsed(s.Elapsed), s.ExamplesPerSecond.ToString("0.0", CultureInfo.InvariantCulture)];
    }

    /// <summary>HF's fractional epoch as its model card rounds it: at most 4 decimals (0.6667, 1.5, 2).</summary>
    internal static string FractionalEpoch(double epoch) => Math.Round(epoch, 4).ToString("0.####", CultureInfo.InvariantCulture);

    /// <summary>A duration as the progress lines show it: <c>m:ss</c>, or from an hour on <c>h:mm:ss</c> with the hours whole.</summary>
    // The hours whole: TimeSpan's "h" is the hours past the days, so an epoch or ETA of 25 hours read 1:00:00.
    internal static string Elapsed(TimeSpan t) =>
        t.TotalHours >= 1 ? FormattableString.Invariant($"{(long)t.TotalHours}:{t.Minutes:00}:{t.Seconds:00}") : t.ToString(@"m\:ss", CultureInfo.InvariantCulture);

    private void Update(bool force)
    {
        if (_live is null)
        {
            PlainLine(force);
            return;
        }
        if (!force && _sinceRefresh.ElapsedMilliseconds < 200)
        {
            return;
        }
        _sinceRefresh.Restart();
        _live.UpdateTarget(Render());
        _live.Refresh();
    }

    private void PlainLine(bool force)
    {
        if (_batches == 0 || _status != "training")
        {
            return;
        }
        var quarter = _batch * 4 / _batches;
        if (quarter == _lastPlainQuarter || (quarter == 0 && !force) || _batch == 0)
        {
            return;
        }
        _lastPlainQuarter = quarter;
        Messages.WriteLine($"epoch {_epoch}/{_plan?.Epochs}: {_batch}/{_batches} batches, loss {AvgLoss():0.0000}, {_rate:0.0} ex/s, ETA {Eta()}");
    }

    private double AvgLoss() => _lossCount == 0 ? double.NaN : _lossSum / _lossCount;

    private string Eta()
    {
        if (_rate <= 0 || _plan is null || _batch == 0)
        {
            return "?";
        }
        var remainingExamples = (double)(_batches - _batch) / _batches * _plan.TrainExamples;
        return Elapsed(TimeSpan.FromSeconds(remainingExamples / _rate));
    }

    /// <summary>The live view as it is now: the epoch table and, during an epoch, its progress line.</summary>
    internal IRenderable Render()
    {
        if (_epoch == 0)
        {
            return _table;
        }
        var frac = _batches == 0 ? 0 : (double)_batch / _batches;
        // 10 wide: with 20, the line of a long run (epoch 12/12, 30864/123456 batches, loss 10.1234, 12345.6 ex/s, ETA
        // 1:04:00) needed 88 characters and wrapped on an 80-column terminal.
        const int width = 10;
        var filled = (int)Math.Round(frac * width);
        var bar = new string('━', filled) + new string('─', width - filled);
        var line = _status == "validating"
            ? $"epoch {_epoch}/{_plan?.Epochs} [green]{bar}[/] validating…"
            : $"epoch {_epoch}/{_plan?.Epochs} [green]{bar}[/] {frac * 100,3:0}% {_batch}/{_batches} loss {AvgLoss():0.0000} {_rate:0.0} ex/s ETA {Eta()}";
        return new Rows([_table, new Markup(line)]);
    }
}
