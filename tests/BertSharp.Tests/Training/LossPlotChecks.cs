using BertSharp.Training;

namespace BertSharp.Tests.Training;

/// <summary>Checks of a fine-tuned model's loss.png against the run's own train_log.jsonl.</summary>
internal static class LossPlotChecks
{
    /// <summary>
    /// loss.png's validation curve has a point per validation, at the validation's step and loss: the run's log drawn again
    /// with the run's series gives the file byte for byte (so those series drew it), and their points are checked against
    /// the steps and losses the caller worked out.
    /// </summary>
    /// <param name="model">The fine-tuned model directory.</param>
    /// <param name="task">The task's name, as the plot's title starts.</param>
    /// <param name="evalSteps">The run's --eval-steps, or null for a validation per epoch.</param>
    /// <param name="steps">The validations' steps.</param>
    /// <param name="losses">Their validation losses.</param>
    public static void AssertAPointPerValidation(string model, string task, int? evalSteps, IEnumerable<long> steps, IReadOnlyList<double> losses)
    {
        var log = TrainLog.Read(Path.Combine(model, TrainLog.FileName));
        var series = FineTuner.PlotSeries(evalSteps);
        var redrawn = Path.Combine(model, "..", "redrawn-loss.png");
        LossPlot.Save(redrawn, LossPlot.Title($"{task} fine-tuning", log), log, series);
        Assert.Equal(File.ReadAllBytes(redrawn), File.ReadAllBytes(Path.Combine(model, LossPlot.FileName)));
        var curves = new LossCurves(series);
        foreach (var e in log)
        {
            curves.Add(e);
        }
        var validation = curves.Points[Array.FindIndex(series, s => s.Field == "validation.loss")];
        Assert.Equal(steps.Select(s => (double)s), validation.Select(p => p.X));
        Assert.Equal(losses, validation.Select(p => p.Y));
    }
}
