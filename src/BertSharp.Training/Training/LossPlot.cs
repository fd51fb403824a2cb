using System.Globalization;
using System.Text.Json.Nodes;
using BertSharp.IO;
using ScottPlot;
using ScottPlot.TickGenerators;

namespace BertSharp.Training;

/// <summary>The <c>loss.png</c> of every run: loss curves per optimizer step, drawn from the run's <see cref="TrainLog"/>.</summary>
public static class LossPlot
{
    /// <summary>The plot's file name in a run directory.</summary>
    public const string FileName = "loss.png";

    /// <summary>One curve: the values of <paramref name="Field"/> (a dotted path such as <c>validation.loss</c>) in the log entries of <paramref name="EntryType"/>.</summary>
    /// <param name="Label">Legend text.</param>
    /// <param name="EntryType">The <c>"type"</c> of the entries that carry the points (<c>train</c>, <c>eval</c>, <c>epoch</c>).</param>
    /// <param name="Field">The value's field.</param>
    /// <param name="Emphasize">Large markers and a thick line (for the sparse evaluation points).</param>
    public sealed record Series(string Label, string EntryType, string Field, bool Emphasize = false);

    /// <summary>Writes <paramref name="path"/> (PNG, 900×500) atomically; non-finite values are left out.</summary>
    public static void Save(string path, string title, IReadOnlyList<JsonObject> log, IReadOnlyList<Series> series)
    {
        ArgumentNullException.ThrowIfNull(log);
        var curves = new LossCurves(series);
        foreach (var e in log)
        {
            curves.Add(e);
        }
        Draw(path, title, series, curves.Points);
    }

    /// <summary>Draws the curves: <paramref name="points"/>[i] are the (step, value) points of <paramref name="series"/>[i].</summary>
    internal static void Draw(string path, string title, IReadOnlyList<Series> series, IReadOnlyList<IReadOnlyList<(double X, double Y)>> points)
    {
        var bytes = Compose(title, series, points).GetImageBytes(900, 500, ImageFormat.Png);
        AtomicFile.Write(path, s => s.Write(bytes));
    }

    internal static Plot Compose(string title, IReadOnlyList<Series> series, IReadOnlyList<IReadOnlyList<(double X, double Y)>> points)
    {
        var plot = new Plot();
        // ScottPlot labels ticks in the current culture: a host in de-DE drew a loss of 0,5 and step 1.000 on a plot whose
        // other text is English.
        plot.Axes.Bottom.TickGenerator = new NumericAutomatic { LabelFormatter = TickLabel };
        plot.Axes.Left.TickGenerator = new NumericAutomatic { LabelFormatter = TickLabel };
        for (var i = 0; i < series.Count; i++)
        {
            var (s, p) = (series[i], points[i]);
            if (p.Count == 0)
            {
                continue;
            }
            var scatter = plot.Add.Scatter(p.Select(q => q.X).ToArray(), p.Select(q => q.Y).ToArray());
            scatter.LegendText = s.Label;
            scatter.MarkerSize = s.Emphasize ? 8 : p.Count > 50 ? 0 : 4;
            scatter.LineWidth = s.Emphasize ? 2 : 1;
        }
        plot.Title(title);
        plot.XLabel("optimizer step");
        plot.YLabel("loss");
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    // Whole or large values with thousands separators, others as short as they print, rounded to hide the tick generator's
    // float error (0.30000000000000004); + 0.0 turns a -0 into 0.
    internal static string TickLabel(double value)
    {
        var v = Math.Round(value, 10) + 0.0;
        return v == Math.Round(v) || Math.Abs(v) > 1000 ? (Math.Round(v) + 0.0).ToString("N0", CultureInfo.InvariantCulture) : v.ToString("G", CultureInfo.InvariantCulture);
    }

    /// <summary>The title with the number of steps drawn, e.g. "sst2 fine-tuning, 120 steps".</summary>
    public static string Title(string run, IReadOnlyList<JsonObject> log) => Title(run, log.Count(e => TrainLog.TypeOf(e) == "train"));

    internal static string Title(string run, int trainSteps) => Invariant($"{run}, {trainSteps} steps");

    internal static double Value(JsonObject entry, string field)
    {
        var dot = field.IndexOf('.', StringComparison.Ordinal);
        return dot < 0 ? TrainLog.Number(entry, field)
            : entry[field[..dot]] is JsonObject inner ? Value(inner, field[(dot + 1)..]) : double.NaN;
    }
}
