using System.Diagnostics;
using BertSharp.Tests.Distributed;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Checkpoints.Hub;

// A FIFO or a device in the model directory: File.Exists takes them for files, and reading one blocks (a FIFO without a writer)
// or never ends (/dev/zero), so the upload hung before it sent anything.
public sealed partial class HubUploadTests
{
    [Fact]
    public void A_fifo_or_a_device_in_the_folder_is_refused_in_one_line_before_anything_is_sent()
    {
        _hub.AddRepo("org/up");
        var dir = ModelDir();
        var fifo = Path.Combine(dir, "pipe");
        using (var mkfifo = Process.Start("mkfifo", [fifo]))
        {
            mkfifo.WaitForExit();
            Assert.Equal(0, mkfifo.ExitCode);
        }
        using var env = new EnvScope(("HF_TOKEN", Token));
        Assert.Equal($"error: {fifo}: not a regular file (a FIFO, socket or device, which reading would block on or never finish); "
            + "expected the model directory's files only, or leave it out with --exclude; nothing was uploaded.",
            Upload(fifo, "--model", dir, "--repo", "org/up", "--endpoint", _hub.Endpoint).AssertOneLineError());
        Assert.Empty(_hub.Commits);
        Assert.DoesNotContain(_hub.Requests, r => r.Method is "POST" or "PUT");

        // Left out by a pattern, it is not read, and the rest goes.
        var r = Upload(fifo, "--model", dir, "--repo", "org/up", "--exclude", "pipe", "--endpoint", _hub.Endpoint);
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.DoesNotContain("pipe", Assert.Single(_hub.Commits).Paths);

        File.Delete(fifo);
        var zero = Path.Combine(dir, "1_Pooling", "zero.bin");
        File.CreateSymbolicLink(zero, "/dev/zero");
        Upload(fifo, "--model", dir, "--repo", "org/up", "--endpoint", _hub.Endpoint)
            .AssertOneLineError($"error: {zero}: not a regular file");
        Assert.Single(_hub.Commits);
    }

    /// <summary>
    /// <c>bert upload</c>, failed rather than hung when it blocks on <paramref name="fifo"/>: writers opened and closed then
    /// give each of its reads an end of file, so that the run ends and releases the console it holds.
    /// </summary>
    private static CliRunner.Result Upload(string fifo, params string[] args)
    {
        var run = Task.Run(() => CliRunner.Run(["upload", .. args]));
        if (!run.Wait(TimeSpan.FromSeconds(60)))
        {
            _ = Task.Run(() =>
            {
                while (!run.IsCompleted)
                {
                    using var writer = new FileStream(fifo, FileMode.Open, FileAccess.Write);
                }
            });
            run.Wait(TimeSpan.FromSeconds(30));
            Assert.Fail($"bert upload blocked reading {fifo}");
        }
        return run.Result;
    }
}
