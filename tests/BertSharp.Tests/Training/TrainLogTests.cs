using System.Text.Json.Nodes;
using BertSharp.Tests.Infrastructure;
using BertSharp.Training;

namespace BertSharp.Tests.Training;

public class TrainLogTests
{
    [Fact]
    public void A_cut_last_line_is_dropped_and_a_resumed_log_keeps_the_steps_up_to_its_checkpoint()
    {
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("train_log.jsonl");
        using (var log = TrainLog.Open(path, resumeStep: null))
        {
            log.Append("start", 0);
            for (var s = 1; s <= 4; s++)
            {
                log.Append("train", s, new JsonObject { ["loss"] = 1.0 / s, ["grad_norm"] = double.NaN });
            }
        }
        // What a full disk or a kill in the middle of a write leaves: a line without its newline.
        File.AppendAllText(path, "{\"type\":\"train\",\"step\":5,\"lo");
        var read = TrainLog.Read(path);
        Assert.Equal([0L, 1, 2, 3, 4], read.Select(TrainLog.StepOf));
        Assert.Equal(0.5, TrainLog.Number(read[2], "loss"));
        Assert.Null(read[1]["grad_norm"]);

        using (var resumed = TrainLog.Open(path, resumeStep: 3))
        {
            Assert.Equal([0L, 1, 2, 3], resumed.Entries.Select(TrainLog.StepOf));
            resumed.Append("resume", 3);
            resumed.Append("train", 4, new JsonObject { ["loss"] = 0.2 });
        }
        var lines = File.ReadAllLines(path);
        Assert.Equal(6, lines.Length);
        Assert.Equal("{\"type\":\"train\",\"step\":4,\"loss\":0.2}", lines[^1]);
        Assert.EndsWith("\n", File.ReadAllText(path), StringComparison.Ordinal);
    }

    [Fact]
    public void A_malformed_line_before_the_last_is_an_error_naming_it()
    {
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("train_log.jsonl");
        File.WriteAllText(path, "{\"type\":\"start\",\"step\":0}\nnot json\n{\"type\":\"train\",\"step\":1}\n");
        var e = Assert.Throws<BertSharpException>(() => TrainLog.Open(path, resumeStep: 1));
        // Named as every reader names a line, without System.Text.Json's 0-based "LineNumber: 0" of the one line it parsed.
        Assert.Equal($"{path} line 2: not a log entry ('not json' is an invalid JSON literal. Expected the literal 'null'); expected one JSON object per line.", e.Message);
    }
}
