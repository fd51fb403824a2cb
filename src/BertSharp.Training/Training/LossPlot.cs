using BertSharp.IO;
using ScottPlot;

namespace BertSharp.Training;

/// <summary>Draws the loss curve of a run: training loss per optimizer step and validation loss per epoch.</summary>
public static class LossPlot
{
    /// <summary>Writes <paramref name="path"/> (PNG, 900×500) atomically.</summary>
    /// <param name="path">Output file.</param>
    /// <param name="trainLoss">Training loss of each optimizer step, in order (step 1 first).</param>
    /// <param name="validation">(step at the end of the epoch, validation loss) per epoch; may be empty.</param>
    /// <param name="title">Plot title.</param>
    public static void Save(string path, IReadOnlyList<double> trainLoss, IReadOnlyList<(int Step, double Loss)> validation, string title)
    {
        var plot = new Plot();
        if (trainLoss.Count > 0)
        {
            var xs = Enumerable.Range(1, trainLoss.Count).Select(i => (double)i).ToArray();
            var train = plot.Add.Scatter(xs, trainLoss.ToArray());
            train.LegendText = "training loss (per step)";
            train.MarkerSize = trainLoss.Count > 50 ? 0 : 4;
            train.LineWidth = 1;
        }
        var finite = validation.Where(v => double.IsFinite(v.Loss)).ToArray();
        if (finite.Length > 0)
        {
            var val = plot.Add.Scatter(finite.Select(v => (double)v.Step).ToArray(), finite.Select(v => v.Loss).ToArray());
            val.LegendText = "validation loss (per epoch)";
            val.MarkerSize = 8;
            val.LineWidth = 2;
        }
        plot.Title(title);
        plot.XLabel("optimizer step");
        plot.YLabel("loss");
        plot.ShowLegend(Alignment.UpperRight);
        var bytes = plot.GetImageBytes(900, 500, ImageFormat.Png);
        AtomicFile.Write(path, s => s.Write(bytes));
    }
}
