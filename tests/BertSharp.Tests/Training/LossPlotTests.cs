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
}
