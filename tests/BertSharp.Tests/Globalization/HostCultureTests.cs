using BertSharp.Checkpoints;
using BertSharp.Tests.Hardening;
using BertSharp.Tests.Infrastructure;
using BertSharp.Training;

namespace BertSharp.Tests.Globalization;

/// <summary>
/// The library packages format numbers the same in any host culture: a host in de-DE drew loss.png's ticks as 0,5 and
/// 1.000 and wrote sizes and counts into messages as 1,5 KB and 1.500.000.
/// </summary>
public class HostCultureTests
{
    [Fact]
    public void Loss_plot_ticks_and_messages_are_written_as_in_the_invariant_culture()
    {
        var (ticks, labels, size, frozen) = HostCulture.Run(() =>
        {
            (double, double)[] points = [.. Enumerable.Range(0, 1500).Select(i => (i + 1.0, 0.9 - (i * 0.0004)))];
            var plot = LossPlot.Compose("run", [new("training loss", "train", "loss")], [points]);
            plot.GetImageBytes(900, 500, ScottPlot.ImageFormat.Png);
            return (plot.Axes.Bottom.TickGenerator.Ticks.Concat(plot.Axes.Left.TickGenerator.Ticks).Where(t => t.IsMajor).Select(t => t.Label).ToList(),
                new[] { 0.5, -0.25, 1500, -1e-12, 0.30000000000000004 }.Select(LossPlot.TickLabel).ToList(),
                HubClient.FormatSize(1536) + " " + HubClient.FormatSize(5L << 29),
                ParameterFreezing.Describe((1_234_567, 4_385_920), freezeEncoder: true, null));
        });
        Assert.Equal("1.5 KB 2.50 GB", size);
        Assert.EndsWith(" — 1,234,567 of 4,385,920 parameters train", frozen, StringComparison.Ordinal);
        // Steps 1..1,500 under the x axis, losses 0.9..0.3 beside the y axis; every label in the invariant form.
        Assert.Contains("1,000", ticks);
        Assert.Contains("1,400", ticks);
        Assert.Contains("0.5", ticks);
        Assert.Contains("0.9", ticks);
        Assert.All(ticks, t => Assert.Matches("^[0-9]{1,3}(,[0-9]{3})*(\\.[0-9]+)?$", t));
        Assert.Equal(["0.5", "-0.25", "1,500", "0", "0.3"], labels);
    }

    [Fact]
    public void A_checkpoints_negative_stride_is_named_as_in_the_invariant_culture()
    {
        // The reader's refusal lists the view's size and stride: string.Join wrote each number in the host's culture.
        using var tmp = TestPaths.TempDir();
        var zip = new TorchZipWriter();
        zip.Add("archive/data.pkl", new StateDictPickle().OldTensor("w", "0", 4, offset: 3, size: [2, 2], stride: [-1, 1]).ToArray());
        zip.Add("archive/data/0", new byte[16]);
        zip.Save(tmp.File("w.bin"));
        var message = HostCulture.Run(() => Assert.Throws<BertSharpException>(() => PyTorchBinReader.Read(tmp.File("w.bin"))).Message);
        Assert.Equal($"{tmp.File("w.bin")}: tensor 'w' (size [2, 2], stride [-1, 1], offset 3): negative size, stride or offset.", message);
    }
}
