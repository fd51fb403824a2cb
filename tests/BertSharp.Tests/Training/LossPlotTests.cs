using System.Buffers.Binary;
using System.Text.Json.Nodes;
using BertSharp.Tests.Infrastructure;
using BertSharp.Training;

namespace BertSharp.Tests.Training;

public class LossPlotTests
{
    [Fact]
    public void Writes_a_900x500_png_atomically()
    {
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("loss.png");
        var log = new[] { 0.7, 0.65, 0.6, 0.52, 0.5, 0.41 }
            .Select((l, i) => new JsonObject { ["type"] = "train", ["step"] = i + 1, ["loss"] = l })
            .Append(new JsonObject { ["type"] = "epoch", ["step"] = 3, ["validation"] = new JsonObject { ["loss"] = 0.62 } })
            .Append(new JsonObject { ["type"] = "epoch", ["step"] = 6, ["validation"] = new JsonObject { ["loss"] = 0.55 } })
            .ToList();
        LossPlot.Save(path, "test", log, [new("training loss", "train", "loss"), new("validation loss", "epoch", "validation.loss", Emphasize: true)]);
        var bytes = File.ReadAllBytes(path);
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, bytes[..8]);
        // IHDR: width and height, big-endian, at bytes 16..24.
        Assert.Equal(900, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16, 4)));
        Assert.Equal(500, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20, 4)));
        Assert.Equal(["loss.png"], Directory.GetFiles(tmp.Path).Select(Path.GetFileName));
        Assert.Equal("run, 6 steps", LossPlot.Title("run", log));
    }

    [Fact]
    public void Curves_gathered_entry_by_entry_draw_the_plot_of_the_whole_log()
    {
        // Pre-training redraws loss.png at every checkpoint from LossCurves instead of re-reading its log.
        using var tmp = TestPaths.TempDir();
        var log = Enumerable.Range(1, 120)
            .Select(i => new JsonObject { ["type"] = "train", ["step"] = i, ["masked_lm_loss"] = 9.0 / i, ["next_sentence_loss"] = i == 7 ? null : 0.7 - (i * 0.001) })
            .Concat(new[] { 40, 80, 120 }.Select(i => new JsonObject { ["type"] = "eval", ["step"] = i, ["masked_lm_loss"] = 10.0 / i }))
            .Prepend(new JsonObject { ["type"] = "start", ["step"] = 0 })
            .OrderBy(e => TrainLog.StepOf(e))
            .ToList();
        LossPlot.Series[] series = [new("mlm", "train", "masked_lm_loss"), new("nsp", "train", "next_sentence_loss"), new("mlm eval", "eval", "masked_lm_loss", Emphasize: true)];
        LossPlot.Save(tmp.File("whole.png"), LossPlot.Title("run", log), log, series);
        var curves = new LossCurves(series);
        foreach (var e in log)
        {
            curves.Add(e);
        }
        curves.Save(tmp.File("gathered.png"), "run");
        Assert.Equal(120, curves.TrainSteps);
        Assert.Equal([120, 119, 3], curves.Points.Select(p => p.Count));   // the null loss of step 7 is left out
        Assert.Equal(File.ReadAllBytes(tmp.File("whole.png")), File.ReadAllBytes(tmp.File("gathered.png")));
    }
}
