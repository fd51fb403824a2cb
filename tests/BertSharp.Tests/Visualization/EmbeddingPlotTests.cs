using BertSharp.Cli.Visualization;

namespace BertSharp.Tests.Visualization;

public sealed class EmbeddingPlotTests
{
    // Category10 alone gave the 11th label the colour of the first ('L10' looked like 'L00' in bert embed --plot), and the
    // legend of 24 labels was drawn inside the data area, over the points in its corner.
    [Fact]
    public void Every_label_has_a_style_of_its_own_and_the_legend_is_beside_the_data()
    {
        var labels = Enumerable.Range(0, 24).Select(i => $"L{i:00}").ToList();
        var xy = labels.Select((_, i) => new double[] { i, -i }).ToList();
        var plot = EmbeddingPlot.Build(xy, labels, "t");
        var scatters = plot.GetPlottables().OfType<ScottPlot.Plottables.Scatter>().ToList();
        Assert.Equal(24, scatters.Count);
        Assert.Equal(24, scatters.Select(s => (s.MarkerStyle.FillColor, s.MarkerStyle.Shape)).Distinct().Count());
        Assert.False(plot.Legend.IsVisible);
        Assert.Contains(plot.Axes.GetPanels(), p => p is ScottPlot.Panels.LegendPanel);
        Assert.Equal(50, EmbeddingPlot.DistinctStyles);
        Assert.Equal(50, Enumerable.Range(0, 50).Select(EmbeddingPlot.Style).Distinct().Count());
    }
}
