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
        var killed = RunChild(OutputSafetyCliTests.Finetune(output, "--save-steps", "2"), killWhen: () =>
            File.Exists(Path.Combine(output, "train_log.jsonl"))
            && File.ReadAllText(Path.Combine(output, "train_log.jsonl")).Contains("\"step\":8,\"epoch\":2", StringComparison.Ordinal));
        Assert.True(killed.Killed, "the run finished before it could be killed: " + killed.StdErr);
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

    private sealed record ChildResult(int ExitCode, bool Killed, string StdErr);

    /// <summary>Runs the bert CLI in a child process; SIGKILLs it as soon as <paramref name="killWhen"/> holds.</summary>
    private static ChildResult RunChild(string[] args, Func<bool>? killWhen = null)
    {
        var psi = new ProcessStartInfo(DotnetHost()) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "bert.dll"));
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["BERTSHARP_NO_PROGRESS"] = "1";
        using var p = Process.Start(psi)!;
        var err = new StringBuilder();
        p.ErrorDataReceived += (_, e) => { lock (err) { err.AppendLine(e.Data); } };
        p.OutputDataReceived += (_, _) => { };
        p.BeginErrorReadLine();
        p.BeginOutputReadLine();
        var killed = false;
        var deadline = DateTime.UtcNow.AddMinutes(5);
        while (!p.WaitForExit(20))
        {
            if (killWhen is not null && killWhen())
            {
                p.Kill(); // SIGKILL on Unix
                killed = true;
                p.WaitForExit();
                break;
            }
            if (DateTime.UtcNow > deadline)
            {
                p.Kill();
                throw new TimeoutException("bert did not finish: " + string.Join(" ", args));
            }
        }
        p.WaitForExit();
        lock (err)
        {
            return new ChildResult(p.ExitCode, killed, err.ToString());
        }
    }

    private static string DotnetHost()
    {
        var self = Environment.ProcessPath;
        return self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
    }
}
