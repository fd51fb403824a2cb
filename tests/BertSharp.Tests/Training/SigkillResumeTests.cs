using System.Diagnostics;
using System.Text;
using BertSharp.Tests.Infrastructure;
using BertSharp.Training;

namespace BertSharp.Tests.Training;

/// <summary>
/// A fine-tune SIGKILLed mid-run resumes to the uninterrupted run's weights. Every run is a child process with its own
/// torch generator, so this class runs beside the others (not in <see cref="SerialCollection"/>).
/// </summary>
public class SigkillResumeTests
{
    [Trait(SlowFirstOrderer.Category, SlowFirstOrderer.Slow)]
    [Fact]
    public void Sigkill_in_epoch_two_then_resume_gives_the_uninterrupted_weights_and_no_temporary_directory_survives()
    {
        using var tmp = TestPaths.TempDir();
        var straight = RunChild(OutputSafetyCliTests.Finetune(tmp.File("straight")));
        Assert.True(straight.ExitCode == 0, straight.StdErr);

        // 6 training examples, batch 1: 6 steps per epoch; checkpoints every 2 steps and at each epoch end.
        var output = tmp.File("killed");
        // Step 8 (batch 2 of epoch 2) prints this progress line; the checkpoint of step 6 is complete by then.
        var killed = RunChild(OutputSafetyCliTests.Finetune(output, "--save-steps", "2"), killAtLine: "epoch 2/3: 2/6 batches");
        Assert.True(killed.ExitCode == SigkillExitCode, $"the run was not killed (exit {killed.ExitCode}): {killed.StdErr}");
        Assert.False(File.Exists(Path.Combine(output, "model.safetensors")));
        var checkpoint = RunDirectory.LatestCheckpoint(output);
        Assert.NotNull(checkpoint);
        Assert.True(TrainerState.Load(Path.Combine(checkpoint!, TrainerState.FileName)).GlobalStep >= 6, checkpoint);
        // What a kill in the middle of a checkpoint or of the final replacement leaves behind.
        Directory.CreateDirectory(Path.Combine(output, ".checkpoint-10.0000dead.tmp"));
        File.WriteAllText(Path.Combine(output, ".checkpoint-10.0000dead.tmp", "model.safetensors"), "half");
        Directory.CreateDirectory(tmp.File(".killed.0000beef.tmp"));

        var resumed = RunChild(OutputSafetyCliTests.Finetune(output, "--save-steps", "2", "--resume"));
        Assert.True(resumed.ExitCode == 0, resumed.StdErr);
        Assert.Equal(File.ReadAllBytes(tmp.File("straight/model.safetensors")), File.ReadAllBytes(Path.Combine(output, "model.safetensors")));
        Assert.Empty(OutputSafetyCliTests.Leftovers(tmp.Path));
        Assert.Empty(Directory.GetDirectories(output));
    }

    private sealed record ChildResult(int ExitCode, string StdErr);

    // 128 + SIGKILL, as Process.ExitCode reports a process the signal ended.
    private const int SigkillExitCode = 137;

    /// <summary>
    /// Runs the bert CLI in a child process; SIGKILLs it as soon as it writes a stderr line starting with
    /// <paramref name="killAtLine"/>.
    /// </summary>
    private static ChildResult RunChild(string[] args, string? killAtLine = null)
    {
        var psi = new ProcessStartInfo(DotnetHost()) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "bert.dll"));
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["BERTSHARP_NO_PROGRESS"] = "1";
        using var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        var err = new StringBuilder();
        // A thread of its own, blocked on the pipe and woken by the line itself, kills the child: the child runs its last ten
        // steps and the final save in one to three seconds, and polling the log every 20 ms from the test thread (or a callback
        // queued on a thread pool busy with the other tests) missed that window when the test process stalled.
        var reader = new Thread(() =>
        {
            while (p.StandardError.ReadLine() is { } line)
            {
                lock (err)
                {
                    err.AppendLine(line);
                }
                if (killAtLine is not null && line.StartsWith(killAtLine, StringComparison.Ordinal))
                {
                    p.Kill(); // SIGKILL on Unix
                }
            }
        }) { IsBackground = true, Name = "bert child stderr" };
        reader.Start();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            p.Kill();
            throw new TimeoutException("bert did not finish: " + string.Join(" ", args));
        }
        reader.Join();
        p.WaitForExit();
        lock (err)
        {
            return new ChildResult(p.ExitCode, err.ToString());
        }
    }

    private static string DotnetHost()
    {
        var self = Environment.ProcessPath;
        return self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
    }
}
