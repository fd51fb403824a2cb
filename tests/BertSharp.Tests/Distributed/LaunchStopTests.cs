using System.Diagnostics;
using System.Globalization;
using BertSharp.Cli.Commands;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Distributed;

/// <summary>
/// <c>bert launch</c> when mpirun does not stop after the SIGTERM the launcher passed on (a fresh machine's CI run under
/// heavy load left the launcher waiting for it for good). Not serial: the fake mpirun is put on the child's PATH only.
/// </summary>
public sealed class LaunchStopTests
{
    [Trait(SlowFirstOrderer.Category, SlowFirstOrderer.Slow)]
    [SkippableFact]
    public void An_mpirun_that_ignores_SIGTERM_is_killed_with_the_processes_it_started_once_the_grace_has_passed()
    {
        // libmpi must load (the launcher checks it before starting mpirun); mpirun is a script in its place that ignores
        // SIGTERM and starts a "rank" (a shell and its sleep) that ignores it too.
        MpiJob.RequireMpirun();
        var marker = (1_000_000_000 + Environment.ProcessId).ToString(CultureInfo.InvariantCulture);
        using var fake = TestPaths.TempDir();
        var script = fake.File("mpirun");
        File.WriteAllText(script, $"#!/bin/sh\ntrap '' TERM HUP\nsh -c 'sleep 1000.{marker}; true' &\nwait\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        }
        var host = Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";
        var psi = new ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "bert.dll"), "launch", "--nproc", "2", "--", "doctor" })
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["PATH"] = fake.Path + ":" + Environment.GetEnvironmentVariable("PATH");
        using var launcher = Process.Start(psi)!;
        var stdout = launcher.StandardOutput.ReadToEndAsync();
        var stderr = launcher.StandardError.ReadToEndAsync();
        try
        {
            Assert.True(LaunchCommandTests.Until(() => LaunchCommandTests.Running(marker).Count == 2, TimeSpan.FromSeconds(60)),
                "the fake mpirun's rank did not start");
            var clock = Stopwatch.StartNew();
            using (var kill = Process.Start("kill", ["-TERM", launcher.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                kill.WaitForExit();
            }
            Assert.True(launcher.WaitForExit(LaunchCommand.StopGrace + TimeSpan.FromSeconds(45)), "the launcher did not end after SIGTERM");
            // It gave mpirun its time to stop the ranks before killing anything.
            Assert.True(clock.Elapsed >= LaunchCommand.StopGrace, $"ended after {clock.Elapsed}");
            Assert.Equal(128 + 9, launcher.ExitCode);
            Assert.Equal([], LaunchCommandTests.Running(marker));
            Assert.Equal([], LaunchCommandTests.Running(fake.Path));
            Assert.Equal("bert launch: mpirun did not stop within 15 s of SIGTERM; killing it and the 2 processes it started.\n",
                stderr.Result.ReplaceLineEndings("\n"));
            Assert.Equal("", stdout.Result);
        }
        finally
        {
            foreach (var left in LaunchCommandTests.Running(marker).Concat(LaunchCommandTests.Running(fake.Path)))
            {
                try
                {
                    Process.GetProcessById(int.Parse(left.Split(' ')[0], CultureInfo.InvariantCulture)).Kill();
                }
                catch (ArgumentException)
                {
                    // Ended meanwhile.
                }
            }
        }
    }
}
