using System.Diagnostics;
using BertSharp.Fuzz;

namespace BertSharp.Tests.Infrastructure;

/// <summary>
/// <see cref="ProcessScratch"/>: the per-process folders of the tests' temp dirs, the MiniLM tests, the tokenizer fixtures
/// and the fuzzer. Each test host used to leave its folder in the temp directory whenever it ended without running exit
/// handlers (146 MiniLM folders, 7.1 GB, in a day of test runs on the project's machine); creating one now removes those of
/// processes that are gone.
/// </summary>
public sealed class ProcessScratchTests
{
    [SkippableFact]
    public void Creating_a_folder_removes_the_folders_of_ended_processes_and_keeps_the_others()
    {
        Skip.IfNot(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS(), "uses sleep and true as processes");
        var prefix = "bertsharp-scratch-test-" + Guid.NewGuid().ToString("N")[..8];
        var temp = Path.GetTempPath();
        using var running = Process.Start("sleep", "60");
        int ended;
        using (var done = Process.Start("true"))
        {
            done.WaitForExit();
            ended = done.Id;
        }
        var ofEnded = Directory.CreateDirectory(Path.Combine(temp, $"{prefix}-{ended}")).FullName;
        File.WriteAllText(Path.Combine(ofEnded, "left.bin"), "x");
        var ofRunning = Directory.CreateDirectory(Path.Combine(temp, $"{prefix}-{running.Id}")).FullName;
        var notAPid = Directory.CreateDirectory(Path.Combine(temp, $"{prefix}-notes")).FullName;
        try
        {
            var mine = ProcessScratch.Create(prefix);

            Assert.Equal(Path.Combine(temp, $"{prefix}-{Environment.ProcessId}"), mine);
            Assert.True(Directory.Exists(mine));
            Assert.False(Directory.Exists(ofEnded));
            Assert.True(Directory.Exists(ofRunning));
            Assert.True(Directory.Exists(notAPid));
            // A second folder of this process's own prefix and id is the same folder, kept.
            Assert.Equal(mine, ProcessScratch.Create(prefix));
            Assert.True(Directory.Exists(mine));
        }
        finally
        {
            running.Kill();
            foreach (var dir in Directory.GetDirectories(temp, prefix + "-*"))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    [Fact]
    public void Test_temp_dirs_live_in_this_process_scratch_folder_and_go_on_dispose()
    {
        string path;
        using (var tmp = TestPaths.TempDir())
        {
            path = tmp.Path;
            File.WriteAllText(tmp.File("a.txt"), "a");
            Assert.Equal(Path.Combine(Path.GetTempPath(), $"{TempDir.ScratchPrefix}-{Environment.ProcessId}"), Path.GetDirectoryName(path));
            Assert.True(File.Exists(Path.Combine(path, "a.txt")));
        }
        Assert.False(Directory.Exists(path));
        // Its parent stays for the process's other temp dirs (the next one is beside it, not a new tree).
        using var next = TestPaths.TempDir();
        Assert.Equal(Path.GetDirectoryName(path), Path.GetDirectoryName(next.Path));
        Assert.NotEqual(path, next.Path);
    }
}
