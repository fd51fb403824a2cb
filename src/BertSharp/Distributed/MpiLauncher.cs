namespace BertSharp.Distributed;

/// <summary>
/// How BertSharp starts N ranks on one machine with Open MPI's <c>mpirun</c> (used by <c>bert launch</c> and the tests).
/// The flags are the ones a single host, and a container run as root, need:
/// <c>--allow-run-as-root</c> (Open MPI refuses root otherwise), <c>--oversubscribe</c> (more ranks than cores or slots),
/// <c>--bind-to none</c> (libtorch runs its own thread pool per rank; core binding would pin it to one core), shared memory
/// between ranks without the ptrace-based single-copy path (containers usually forbid it), and the runtime's own TCP
/// traffic kept on the loopback interface.
/// </summary>
public static class MpiLauncher
{
    /// <summary>What to install when mpirun is missing.</summary>
    public const string InstallHint = MpiLibrary.InstallHint;

    /// <summary>Open MPI settings (as <c>OMPI_MCA_*</c> environment variables) for ranks on one machine.</summary>
    public static IReadOnlyDictionary<string, string> SingleHostEnvironment { get; } = new Dictionary<string, string>
    {
        // Ranks talk through shared memory (vader) and to themselves (self); no network interface is needed.
        ["OMPI_MCA_btl"] = "self,vader",
        // vader's single-copy path uses process_vm_readv (CMA), which containers without CAP_SYS_PTRACE deny.
        ["OMPI_MCA_btl_vader_single_copy_mechanism"] = "none",
        // mpirun's out-of-band channel to its ranks: loopback only, so no other interface is probed.
        ["OMPI_MCA_oob_tcp_if_include"] = "lo",
        // When one rank dies the launcher sends the others SIGTERM, then SIGKILL this many seconds later (default 1): time
        // for them to say which collective they were waiting in.
        ["OMPI_MCA_odls_base_sigkill_timeout"] = "3",
        // The portable ob1 messaging layer; UCX, when installed, probes for InfiniBand and warns in containers.
        ["OMPI_MCA_pml"] = "ob1",
        // A rank waiting in a collective yields its core instead of spinning: on a machine whose cores are shared (ranks'
        // thread pools, other jobs) spinning ranks take the CPU from the rank everyone waits for and a short run can take
        // many times longer.
        ["OMPI_MCA_mpi_yield_when_idle"] = "1",
    };

    /// <summary>The full path of <c>mpirun</c> on PATH, or null.</summary>
    public static string? FindMpirun()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, "mpirun");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    /// <summary>mpirun's arguments that start <paramref name="command"/> as <paramref name="ranks"/> ranks on this machine.</summary>
    public static IReadOnlyList<string> SingleHostArguments(int ranks, IReadOnlyList<string> command)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ranks);
        ArgumentNullException.ThrowIfNull(command);
        if (command.Count == 0)
        {
            throw new ArgumentException("no command to launch", nameof(command));
        }
        return ["--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-np", ranks.ToString(System.Globalization.CultureInfo.InvariantCulture), .. command];
    }

    /// <summary>
    /// libtorch threads per rank when <paramref name="ranks"/> ranks share this machine: the cores divided evenly, at least
    /// one, so that the ranks' thread pools do not oversubscribe the CPU.
    /// </summary>
    public static int ThreadsPerRank(int ranks) => Math.Max(1, Environment.ProcessorCount / Math.Max(1, ranks));
}
