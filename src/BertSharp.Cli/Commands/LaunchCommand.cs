using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using BertSharp.Distributed;

namespace BertSharp.Cli.Commands;

/// <summary>
/// <c>bert launch --nproc N -- COMMAND...</c>: runs a <c>bert</c> command as N data-parallel ranks on this machine through
/// Open MPI's <c>mpirun</c>, with the flags one host (and a container run as root) needs; see <see cref="MpiLauncher"/>.
/// </summary>
internal static class LaunchCommand
{
    public static Command Create()
    {
        var nproc = new Option<int>("--nproc") { Description = "Number of ranks (processes) to start on this machine.", Required = true };
        var command = new Argument<string[]>("command")
        {
            Description = "The bert command each rank runs, after '--' (e.g. -- pretrain --data DIR ...).",
            Arity = ArgumentArity.OneOrMore,
        };
        var cmd = new Command("launch", "Run a bert command as N data-parallel ranks on this machine with Open MPI's mpirun.");
        cmd.Options.Add(nproc);
        cmd.Arguments.Add(command);
        // No command at all is refused by the parser (the arity), in CliInput's words for a missing argument.
        cmd.SetAction(p => Run(p.GetValue(nproc), p.GetValue(command)!));
        return cmd;
    }

    private static int Run(int ranks, string[] command)
    {
        // Every rank is a process with its own libtorch (hundreds of MiB each); mpirun runs with --oversubscribe, so a typo
        // (--nproc 1000 for 10) started a thousand of them on a 2-core machine. The bound is that of the thread options.
        CommonOptions.CheckThreads(ranks, "--nproc", note: "each rank is a process of its own");
        // The command is checked here, once, rather than by every rank after mpirun has started them all.
        var inner = Program.ParseChecked(command);
        if (!Program.RunsOwnAction(inner))
        {
            // --help and the like: shown once, not once per rank.
            return inner.Invoke();
        }
        DataParallelRank.RefuseUnlessDataParallel(inner, ranks);
        // Every rank reads it when it joins; a bad value is said once here, not by each rank amid mpirun's report.
        _ = DistributedEnvironment.DefaultTimeout;
        var mpirun = MpiLauncher.FindMpirun()
            ?? throw new BertSharpException($"bert launch: mpirun was not found on PATH; {MpiLauncher.InstallHint}.");
        // Every rank binds libmpi when it joins; a missing or foreign one is said once here, not by each rank amid mpirun's report.
        MpiLibrary.EnsureLoadable();
        var start = new ProcessStartInfo(mpirun)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // Tagged output tells whose each line is (LaunchOutput): a rank's, or mpirun's own.
        start.ArgumentList.Add("--tag-output");
        foreach (var a in MpiLauncher.SingleHostArguments(ranks, [.. SelfCommand(), .. command]))
        {
            start.ArgumentList.Add(a);
        }
        foreach (var (name, value) in MpiLauncher.SingleHostEnvironment)
        {
            if (Environment.GetEnvironmentVariable(name) is null)
            {
                start.Environment[name] = value;
            }
        }
        if (Environment.GetEnvironmentVariable("OMP_NUM_THREADS") is null)
        {
            // libtorch sizes its thread pool from OMP_NUM_THREADS; N ranks each using every core would oversubscribe.
            start.Environment["OMP_NUM_THREADS"] = MpiLauncher.ThreadsPerRank(ranks).ToString(CultureInfo.InvariantCulture);
        }
        // mpirun gives each rank a pseudo-terminal; a dumb TERM keeps .NET from writing terminal set-up sequences into it.
        start.Environment["TERM"] = "dumb";
        using var process = Process.Start(start) ?? throw new InvalidOperationException("mpirun did not start");
        // Ctrl+C reaches mpirun too (same process group), which stops the ranks; wait for it instead of leaving them.
        ConsoleCancelEventHandler keepWaiting = (_, e) => e.Cancel = true;
        Console.CancelKeyPress += keepWaiting;
        // SIGTERM or SIGHUP reaches only this process (timeout, a job scheduler, a closed terminal): ended by it, the launcher
        // left mpirun and every rank running, re-parented to init. It goes on to mpirun, which stops the ranks, and the
        // launcher waits for it as for Ctrl+C. mpirun then stops the ranks within seconds (SIGTERM, SIGKILL after
        // odls_base_sigkill_timeout); one that does not (a SIGTERM that came while it was still starting the ranks left a CI
        // run's launcher waiting for good) is killed with every process under it once StopGrace has passed.
        var escalation = 0;
        var killed = 0;
        void Forward(PosixSignalContext c)
        {
            c.Cancel = true;
            if (!process.HasExited)
            {
                _ = Kill(process.Id, SigTerm);
                if (Interlocked.Exchange(ref escalation, 1) == 0)
                {
                    _ = Task.Delay(StopGrace).ContinueWith(_ => KillIfRunning(process, ref killed), TaskScheduler.Default);
                }
            }
        }
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Forward);
        using var sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, Forward);
        try
        {
            var stdout = new LaunchOutput(Console.Out, mpirunSpeaks: false);
            var stderr = new LaunchOutput(Console.Error, mpirunSpeaks: true);
            using var stdoutText = new TextWriterStream(stdout);
            using var stderrText = new TextWriterStream(stderr);
            var output = process.StandardOutput.BaseStream.CopyToAsync(stdoutText);
            var error = process.StandardError.BaseStream.CopyToAsync(stderrText);
            process.WaitForExit();
            Task.WaitAll(output, error);
            // Each stream has ended: what is still held back (a character, a line or a tag cut by the end) is shown now.
            stdoutText.Complete();
            stderrText.Complete();
            stdout.Finish();
            stderr.Finish();
            Console.Out.Flush();
            Console.Error.Flush();
            // A killed mpirun may still have ended with 0 (its shell, say); the job did not.
            return Volatile.Read(ref killed) == 1 ? 128 + SigKill : process.ExitCode;
        }
        finally
        {
            Console.CancelKeyPress -= keepWaiting;
        }
    }

    private const int SigTerm = 15;
    private const int SigKill = 9;

    /// <summary>How long mpirun may take to stop its ranks after the launcher passed it a SIGTERM.</summary>
    internal static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(15);

    /// <summary>Kills mpirun and every process under it if it is still running; <paramref name="killed"/> is set first, so
    /// that the launcher, woken by mpirun's end, already reads it.</summary>
    private static void KillIfRunning(Process mpirun, ref int killed)
    {
        if (mpirun.HasExited)
        {
            return;
        }
        // The ranks first: killed after mpirun they would already belong to init, and still hold the output pipes the
        // launcher reads to their end.
        var under = ProcessTree.Descendants(mpirun.Id);
        Volatile.Write(ref killed, 1);
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"bert launch: mpirun did not stop within {StopGrace.TotalSeconds:0} s of SIGTERM; killing it and the {under.Count} processes it started."));
        foreach (var pid in under)
        {
            _ = Kill(pid, SigKill);
        }
        _ = Kill(mpirun.Id, SigKill);
    }

    // .NET sends only SIGKILL to another process (Process.Kill), which mpirun cannot pass on to its ranks.
    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    /// <summary>How to start this same bert: the native launcher when there is one, else <c>dotnet bert.dll</c>.</summary>
    private static string[] SelfCommand()
    {
        var dll = typeof(LaunchCommand).Assembly.Location;
        var host = Environment.ProcessPath;
        var hostName = host is null ? "" : Path.GetFileNameWithoutExtension(host);
        if (hostName == "bert")
        {
            return [host!];
        }
        // Under 'dotnet bert.dll' (the ./bert script) or a test host, run the same assembly with the same dotnet.
        var dotnet = hostName == "dotnet" ? host! : "dotnet";
        return [dotnet, dll];
    }
}
