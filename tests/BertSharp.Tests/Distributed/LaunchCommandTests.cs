using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Distributed;

/// <summary>
/// <c>bert launch</c>. Serial: two tests change the process's environment (<c>PATH</c>, <c>OMP_NUM_THREADS</c>), which
/// every test starting a child process beside them would read (a test finding no <c>mpirun</c> on an emptied PATH would be
/// skipped, one starting <c>dotnet</c> would fail).
/// </summary>
[Collection(SerialCollection.Name)]
[Trait(SerialCollection.TraitName, SerialCollection.TraitValue)]
public sealed class LaunchCommandTests
{
    [Fact]
    public void Without_mpirun_launch_says_which_packages_to_install()
    {
        using var empty = TestPaths.TempDir();
        using var env = new EnvScope(("PATH", empty.Path));
        var r = CliRunner.Run("launch", "--nproc", "2", "--", "doctor");
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("error: bert launch: mpirun was not found on PATH; install Open MPI (Debian/Ubuntu: apt-get install openmpi-bin libopenmpi-dev).\n",
            r.StdErr.ReplaceLineEndings("\n"));
    }

    [SkippableFact]
    public void Each_streams_last_line_and_a_character_cut_by_its_end_are_shown_when_mpirun_ends()
    {
        // libmpi must load (the launcher checks it before starting mpirun); mpirun itself is a script in its place that ends
        // both streams without a newline, stdout inside a UTF-8 sequence ("€" is E2 82 AC).
        MpiJob.RequireMpirun();
        using var fake = TestPaths.TempDir();
        var script = fake.File("mpirun");
        File.WriteAllText(script, "#!/bin/sh\nprintf '[1,0]<stdout>:saved run \\342\\202'\nprintf '[1,1]<stderr>:rank 1: last' >&2\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        }
        using var env = new EnvScope(("PATH", fake.Path));
        var r = CliRunner.Run("launch", "--nproc", "2", "--", "doctor");
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Equal("saved run \uFFFD", r.StdOut);
        Assert.Equal("rank 1: last\n", r.StdErr.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void Launch_needs_a_command_and_a_positive_rank_count()
    {
        // An emptied PATH: a refusal that got as far as looking for mpirun would fail with the mpirun message instead, also
        // exit 2 (with mpirun found, a missing command would start ranks of a bare 'bert' and end with mpirun's exit code).
        using var empty = TestPaths.TempDir();
        using var env = new EnvScope(("PATH", empty.Path));
        // The bound of the thread options, in their words.
        Assert.Equal($"error: --nproc 0: expected 1..{4 * Environment.ProcessorCount} (at most 4 × the {Environment.ProcessorCount} processors; each rank is a process of its own).",
            CliRunner.Run("launch", "--nproc", "0", "--", "doctor").AssertOneLineError());
        Assert.Equal("error: <command>: required: the bert command each rank runs, after '--' (e.g. -- pretrain --data DIR ...) (see 'bert launch --help').",
            CliRunner.Run("launch", "--nproc", "2").AssertOneLineError());
    }

    [Fact]
    public void Launch_refuses_more_ranks_than_four_per_processor_before_starting_mpirun()
    {
        // An emptied PATH: a count that got as far as looking for mpirun would fail with the mpirun message instead
        // (unbounded, --nproc 1000 on a 2-core machine had mpirun start a thousand libtorch processes).
        using var empty = TestPaths.TempDir();
        using var env = new EnvScope(("PATH", empty.Path));
        var max = 4 * Environment.ProcessorCount;
        CliRunner.Run("launch", "--nproc", $"{max + 1}", "--", "doctor")
            .AssertOneLineError($"error: --nproc {max + 1}: expected 1..{max} (at most 4 × the {Environment.ProcessorCount} processors; each rank is a process of its own).");
        CliRunner.Run("launch", "--nproc", $"{max}", "--", "doctor").AssertOneLineError("error: bert launch: mpirun was not found on PATH");
    }

    [Fact]
    public void Launch_refuses_a_command_that_does_not_run_data_parallel_before_starting_any_rank()
    {
        // An emptied PATH: a command that got as far as looking for mpirun would fail with the mpirun message instead.
        using var empty = TestPaths.TempDir();
        using var env = new EnvScope(("PATH", empty.Path));
        var output = Path.Combine(empty.Path, "data");
        // Two ranks of pretrain-data raced on one temporary directory ("Could not find a part of the path '.data.….tmp/manifest.json'").
        CliRunner.Run("launch", "--nproc", "2", "--", "pretrain-data", "--input", Path.Combine(TestPaths.Fixtures, "data", "sst2_train.tsv"),
                "--vocab", Path.Combine(TestPaths.Fixtures, "hf_bert", "pretraining", "vocab.txt"), "--output", output)
            .AssertOneLineError("error: bert pretrain-data does not run data-parallel: each of the 2 ranks would run it whole; run it without bert launch or mpirun " +
                                "(data-parallel commands: pretrain, finetune, doctor, bench allreduce).");
        Assert.False(Directory.Exists(output));
        // mpirun refuses to be nested ("mpirun does not support recursive calls", once per rank, exit 1).
        CliRunner.Run("launch", "--nproc", "2", "--", "launch", "--nproc", "2", "--", "doctor").AssertOneLineError("error: bert launch does not run data-parallel");
        CliRunner.Run("launch", "--nproc", "3", "--", "bench", "tokenize", "--vocab", "v.txt", "--input", "t.txt").AssertOneLineError("error: bert bench tokenize does not run data-parallel: each of the 3 ranks");
        // The command's own mistakes are said once, not by every rank after mpirun started them; so is a bad timeout.
        CliRunner.Run("launch", "--nproc", "2", "--", "nosuchcmd").AssertOneLineError("error: nosuchcmd: unrecognized command or argument (see 'bert --help').");
        env.Set(BertSharp.Distributed.DistributedEnvironment.TimeoutVariable, "abc");
        CliRunner.Run("launch", "--nproc", "2", "--", "doctor").AssertOneLineError("error: BERTSHARP_DIST_TIMEOUT=abc: expected a positive number of seconds.");
    }

    [Fact]
    public void Launch_says_once_that_the_mpi_library_will_not_load_before_starting_mpirun()
    {
        // A stand-in mpirun that leaves a mark: each rank said the failure itself, amid mpirun's "job aborted" report.
        using var bin = TestPaths.TempDir();
        var mpirun = Path.Combine(bin.Path, "mpirun");
        var mark = Path.Combine(bin.Path, "started");
        File.WriteAllText(mpirun, $"#!/bin/sh\ntouch '{mark}'\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(mpirun, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        using var env = new EnvScope(("PATH", bin.Path), ("BERTSHARP_MPI_LIBRARY", "/nonexistent.so"));
        var line = CliRunner.Run("launch", "--nproc", "2", "--", "doctor", "--quick").AssertOneLineError();
        Assert.Equal("error: MPI backend: BERTSHARP_MPI_LIBRARY=/nonexistent.so could not be loaded; point it at Open MPI's libmpi.so or unset it.", line);
        Assert.False(File.Exists(mark));
    }

    [Fact]
    public void A_command_that_does_not_run_data_parallel_refuses_to_run_as_one_of_several_mpirun_ranks()
    {
        using var empty = TestPaths.TempDir();
        using var env = new EnvScope(("OMPI_COMM_WORLD_RANK", "1"), ("OMPI_COMM_WORLD_SIZE", "2"));
        var output = Path.Combine(empty.Path, "data");
        CliRunner.Run("pretrain-data", "--input", Path.Combine(TestPaths.Fixtures, "data", "sst2_train.tsv"),
                "--vocab", Path.Combine(TestPaths.Fixtures, "hf_bert", "pretraining", "vocab.txt"), "--output", output)
            .AssertOneLineError("error: bert pretrain-data does not run data-parallel: each of the 2 ranks would run it whole");
        Assert.False(Directory.Exists(output));
        // One rank of one is an ordinary process.
        using var single = new EnvScope(("OMPI_COMM_WORLD_RANK", "0"), ("OMPI_COMM_WORLD_SIZE", "1"));
        File.WriteAllText(empty.File("texts.txt"), "the cat sat\nit was on the mat\n");
        Assert.Equal(0, CliRunner.Run("bench", "tokenize", "--vocab", Path.Combine(TestPaths.Fixtures, "hf_bert", "pretraining", "vocab.txt"),
            "--input", empty.File("texts.txt"), "--rounds", "1").ExitCode);
    }

    [Trait(SlowFirstOrderer.Category, SlowFirstOrderer.Slow)]
    [SkippableFact]
    public void Launch_runs_the_command_as_ranks_that_reach_each_other_and_only_rank_0_prints()
    {
        MpiJob.RequireMpirun();
        using var env = new EnvScope(("OMP_NUM_THREADS", null));
        var r = CliRunner.Run("launch", "--nproc", "2", "--", "doctor");
        Assert.True(r.ExitCode == 0, r.StdOut + r.StdErr);
        var lines = r.StdOut.ReplaceLineEndings("\n").Split('\n');
        Assert.Single(lines, l => l.StartsWith("libtorch", StringComparison.Ordinal));
        var distributed = Assert.Single(lines, l => l.StartsWith("distributed", StringComparison.Ordinal));
        Assert.Contains("mpi, rank 0 of 2, Open MPI v", distributed);
        Assert.Contains("all-reduce, broadcast and barrier checks passed", distributed);
        // Two ranks share this machine's cores.
        Assert.Contains($"threads       {Math.Max(1, Environment.ProcessorCount / 2)}", lines);
        // mpirun tags every rank's output for the launcher, which takes the tags off.
        Assert.DoesNotContain("]<std", r.StdOut + r.StdErr, StringComparison.Ordinal);
    }

    [Trait(SlowFirstOrderer.Category, SlowFirstOrderer.Slow)]
    [SkippableFact]
    public void A_mistake_every_rank_finds_is_said_once_with_the_ranks_exit_code_and_none_of_mpiruns_report()
    {
        // The ranks find it before they join the job (no libtorch model is loaded): both said it, amid mpirun's two blocks
        // ("Primary job terminated normally, ...", "mpirun detected that one or more processes exited ...").
        MpiJob.RequireMpirun();
        using var tmp = TestPaths.TempDir();
        CliRunner.Run("launch", "--nproc", "2", "--", "finetune", "--data", tmp.File("nope.tsv"), "--output", tmp.File("out"))
            .AssertOneLineError("error: --task: required; one of imdb, cola, sst2, mrpc, csv, tsv, jsonl.");
        Assert.False(Directory.Exists(tmp.File("out")));
    }

    // SIGTERM (timeout, a job scheduler) reached only the launcher, which ended and left mpirun and both ranks running,
    // re-parented to init (an earlier QA pass left 300 ranks of a '--nproc 1000' launch behind this way).
    [Trait(SlowFirstOrderer.Category, SlowFirstOrderer.Slow)]
    [SkippableFact]
    public void Sigterm_to_launch_stops_mpirun_and_every_rank()
    {
        MpiJob.RequireMpirun();
        // A step count no other process has: the launcher, mpirun and the ranks are found by it in their command lines.
        var marker = (1_000_000_000 + Environment.ProcessId).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var host = Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";
        var psi = new System.Diagnostics.ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "bert.dll"), "launch", "--nproc", "2", "--", "bench", "allreduce", "--config", "tiny", "--steps", marker })
        {
            psi.ArgumentList.Add(a);
        }
        using var launcher = System.Diagnostics.Process.Start(psi)!;
        var stdout = launcher.StandardOutput.ReadToEndAsync();
        var stderr = launcher.StandardError.ReadToEndAsync();
        try
        {
            // Both ranks past exec: a rank mpirun has forked but not yet exec'd still shows mpirun's command line. A SIGTERM
            // that reached mpirun while it was still starting them once left it running for good (the launcher now kills it
            // after LaunchCommand.StopGrace, LaunchStopTests); this test is about the ordinary path.
            Assert.True(Until(() => Running(marker).Count(p => p.Contains("/mpirun ", StringComparison.Ordinal)) == 1
                                    && Running(marker).Count(p => p.Contains(" bench allreduce ", StringComparison.Ordinal)
                                                                 && !p.Contains("/mpirun ", StringComparison.Ordinal)
                                                                 && !p.Contains(" launch ", StringComparison.Ordinal)) == 2,
                TimeSpan.FromSeconds(90)), "the launcher, mpirun and 2 ranks did not all start");
            using (var kill = System.Diagnostics.Process.Start("kill", ["-TERM", launcher.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                kill.WaitForExit();
            }
            Assert.True(launcher.WaitForExit(60_000), "the launcher did not end after SIGTERM");
            Assert.True(Until(() => Running(marker).Count == 0, TimeSpan.FromSeconds(30)),
                $"left running after the launcher ended: {string.Join("; ", Running(marker))}\n{stderr.Result}");
            Assert.NotEqual(0, launcher.ExitCode);
            Assert.DoesNotContain("did not stop within", stderr.Result, StringComparison.Ordinal);
        }
        finally
        {
            // A failure must not leave the job behind for the tests after it.
            foreach (var pid in Running(marker).Select(r => int.Parse(r.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture)))
            {
                try
                {
                    System.Diagnostics.Process.GetProcessById(pid).Kill();
                }
                catch (ArgumentException)
                {
                    // Ended meanwhile.
                }
            }
            _ = stdout.Result;
        }
    }

    internal static bool Until(Func<bool> condition, TimeSpan limit)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > limit)
            {
                return false;
            }
            Thread.Sleep(100);
        }
        return true;
    }

    /// <summary>"PID command line" of every process whose command line holds <paramref name="marker"/>.</summary>
    internal static List<string> Running(string marker)
    {
        var found = new List<string>();
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }
            try
            {
                var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if (cmdline.Contains(marker, StringComparison.Ordinal))
                {
                    found.Add($"{pid} {cmdline.Trim()}");
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Ended while being read.
            }
        }
        return found;
    }
}
