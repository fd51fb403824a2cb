using System.Diagnostics;
using System.Globalization;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Training;

namespace BertSharp.Tests.Commands;

/// <summary><c>bert bench pretrain-memory</c> as a child process: what a signal leaves behind can only be seen from outside.</summary>
public class PretrainMemoryBenchTests
{
    // The warm-up is the first tenth of the steps rounded up, and the reference the first sample after it: rounded down, 25
    // steps settled from step 2, inside their first 2.5, and 1000 from step 100 (sampled every 50 steps: 19 samples, not 18).
    [Theory]
    [InlineData(11, 1, 3, 9)]
    [InlineData(20, 2, 3, 9)]
    [InlineData(25, 2, 4, 11)]
    [InlineData(1000, 50, 101, 18)]
    public void Samples_count_from_the_step_after_the_first_tenth_rounded_up(long steps, long every, long from, long samples)
    {
        Assert.Equal(from, Cli.Commands.PretrainMemoryBenchCommand.SettledFrom(steps));
        Assert.Equal(samples, Cli.Commands.PretrainMemoryBenchCommand.SettledSamples(steps, every));
    }

    // SIGTERM (a timeout, a job scheduler) and Ctrl-C ended the bench on the spot and left its temporary pre-training run,
    // bertsharp-bench-*, in the temp folder.
    [Fact]
    public async Task Sigterm_stops_the_bench_and_removes_its_temporary_run()
    {
        using var tmp = TestPaths.TempDir();
        var (data, vocab) = PretrainingTrainerTests.SmallData(tmp, dupe: 1);
        var temp = Directory.CreateDirectory(tmp.File("temp")).FullName;
        var host = Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";
        var psi = new ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "bert.dll"), "bench", "pretrain-memory", "--data", data, "--vocab", vocab,
                     "--steps", "1000000", "--sample-every", "100000", "--batch-size", "2", "--threads", "1" })
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["TMPDIR"] = temp;
        // Watching before the start: the run directory can appear before a poll would look. The runtime's own diagnostic
        // sockets appear there too.
        using var watcher = new FileSystemWatcher(temp);
        using var bench = Process.Start(psi)!;
        var stdout = bench.StandardOutput.ReadToEndAsync();
        var stderr = bench.StandardError.ReadToEndAsync();
        try
        {
            var deadline = Stopwatch.StartNew();
            while (!Directory.EnumerateDirectories(temp, "bertsharp-bench-*").Any())
            {
                if (bench.HasExited)
                {
                    Assert.Fail("the bench ended before it made its run directory: " + await stderr);
                }
                Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(90), "the bench made no run directory in 90 s");
                watcher.WaitForChanged(WatcherChangeTypes.Created, 1000);
            }
            using (var kill = Process.Start("kill", ["-TERM", bench.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                kill.WaitForExit();
            }
            Assert.True(bench.WaitForExit(60_000), "the bench did not end after SIGTERM");
            // After the plain progress lines: one error line, with the step it stopped at (it said only "cancelled.").
            Assert.Matches(@"^error: cancelled at step \d+ of 1000000; the temporary run was removed\.$", (await stderr).Trim().Split('\n')[^1]);
            Assert.Equal(130, bench.ExitCode);
            Assert.Empty(Directory.EnumerateDirectories(temp, "bertsharp-bench-*"));
        }
        finally
        {
            if (!bench.HasExited)
            {
                bench.Kill();
            }
            await stdout;
        }
    }
}
