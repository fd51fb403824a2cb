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

    [Fact]
    public void Launch_needs_a_command_and_a_positive_rank_count()
    {
        Assert.Equal(2, CliRunner.Run("launch", "--nproc", "0", "--", "doctor").ExitCode);
        Assert.NotEqual(0, CliRunner.Run("launch", "--nproc", "2").ExitCode);
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
    }
}
