using BertSharp.IO;
using ScottPlot;

namespace BertSharp.Cli.Visualization;

/// <summary>
/// A 2-D scatter of projected embeddings, one colour (and legend entry) per label: the PNG of <c>bert embed --plot</c>. It lives
/// with its one user so that the Inference package (and the server) need not carry ScottPlot and its native SkiaSharp.
/// </summary>
internal static class EmbeddingPlot
{
    /// <summary>Writes a PNG (900×700) atomically.</summary>
    /// <param name="path">Output file.</param>
    /// <param name="xy">[n][2] coordinates.</param>
    /// <param name="labels">Label per point (same order), or null for one colour.</param>
    /// <param name="title">Plot title.</param>
    /// <param name="xLabel">Horizontal axis label (e.g. "PC1 (12.3 % of variance)").</param>
    /// <param name="yLabel">Vertical axis label.</param>
    public static void Save(string path, IReadOnlyList<double[]> xy, IReadOnlyList<string>? labels, string title, string? xLabel = null, string? yLabel = null)
    {
        ArgumentNullException.ThrowIfNull(xy);
        var plot = new Plot();
        var groups = Enumerable.Range(0, xy.Count).GroupBy(i => labels?[i] ?? "").OrderBy(g => g.Key, StringComparer.Ordinal).ToList();
        var palette = new ScottPlot.Palettes.Category10();
        for (var g = 0; g < groups.Count; g++)
        {
            var idx = groups[g].ToArray();
            var scatter = plot.Add.ScatterPoints(idx.Select(i => xy[i][0]).ToArray(), idx.Select(i => xy[i][1]).ToArray(), palette.GetColor(g));
            scatter.MarkerSize = 7;
            if (labels is not null)
            {
                scatter.LegendText = $"{groups[g].Key} ({idx.Length})";
            }
        }
        plot.Title(title);
        if (xLabel is not null)
        {
            plot.XLabel(xLabel);
        }
        if (yLabel is not null)
        {
            plot.YLabel(yLabel);
        }
        if (labels is not null)
        {
            plot.ShowLegend();
        }
        var bytes = plot.GetImageBytes(900, 700, ImageFormat.Png);
        AtomicFile.Write(path, s => s.Write(bytes));
    }
}
