using ScottPlot;

namespace BertSharp.Cli.Visualization;

/// <summary>
/// A 2-D scatter of projected embeddings, one style (colour and marker) and legend entry per label: the PNG of
/// <c>bert embed --plot</c>. It lives with its one user so that the Inference package (and the server) need not carry
/// ScottPlot and its native SkiaSharp.
/// </summary>
internal static class EmbeddingPlot
{
    private static readonly ScottPlot.Palettes.Category10 Palette = new();

    // Category10 has ten colours; the eleventh label took the first one again and could not be told from it. Each round of
    // ten colours takes the next marker.
    private static readonly MarkerShape[] Shapes =
        [MarkerShape.FilledCircle, MarkerShape.FilledSquare, MarkerShape.FilledTriangleUp, MarkerShape.FilledDiamond, MarkerShape.FilledTriangleDown];

    /// <summary>How many labels get a style of their own (after that the styles repeat).</summary>
    public static int DistinctStyles => Palette.Colors.Length * Shapes.Length;

    /// <summary>The colour and marker of the <paramref name="group"/>-th label (ordinal order).</summary>
    public static (Color Color, MarkerShape Shape) Style(int group) =>
        (Palette.GetColor(group), Shapes[group / Palette.Colors.Length % Shapes.Length]);

    /// <summary>The plot as a PNG (900×700), drawn in memory so that it is complete before any output is written.</summary>
    /// <param name="xy">[n][2] coordinates.</param>
    /// <param name="labels">Label per point (same order), or null for one colour.</param>
    /// <param name="title">Plot title.</param>
    /// <param name="xLabel">Horizontal axis label (e.g. "PC1 (12.3 % of variance)").</param>
    /// <param name="yLabel">Vertical axis label.</param>
    internal static byte[] Png(IReadOnlyList<double[]> xy, IReadOnlyList<string>? labels, string title, string? xLabel = null, string? yLabel = null) =>
        Build(xy, labels, title, xLabel, yLabel).GetImageBytes(900, 700, ImageFormat.Png);

    /// <summary>The plot <see cref="Png"/> draws.</summary>
    internal static Plot Build(IReadOnlyList<double[]> xy, IReadOnlyList<string>? labels, string title, string? xLabel = null, string? yLabel = null)
    {
        ArgumentNullException.ThrowIfNull(xy);
        var plot = new Plot();
        var groups = Enumerable.Range(0, xy.Count).GroupBy(i => labels?[i] ?? "").OrderBy(g => g.Key, StringComparer.Ordinal).ToList();
        for (var g = 0; g < groups.Count; g++)
        {
            var idx = groups[g].ToArray();
            var (color, shape) = Style(g);
            var scatter = plot.Add.ScatterPoints(idx.Select(i => xy[i][0]).ToArray(), idx.Select(i => xy[i][1]).ToArray(), color);
            scatter.MarkerShape = shape;
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
            // Beside the data, not over it: inside, a legend of many labels covered the points in its corner.
            plot.ShowLegend(Edge.Right);
        }
        return plot;
    }
}
