using System.Globalization;

namespace BertSharp.Distributed;

/// <summary>
/// Where a process learns whether it is one rank of a data-parallel job: Open MPI's launcher (<c>mpirun</c>, also behind
/// <c>bert launch</c>) sets <c>OMPI_COMM_WORLD_RANK</c> / <c>OMPI_COMM_WORLD_SIZE</c> in every process it starts.
/// </summary>
public static class DistributedEnvironment
{
    /// <summary>Environment variable with the collective timeout in seconds (default 600).</summary>
    public const string TimeoutVariable = "BERTSHARP_DIST_TIMEOUT";

    private const double MaxTimeoutSeconds = 1e9;

    /// <summary>
    /// Longest time a collective waits for the other ranks: <c>BERTSHARP_DIST_TIMEOUT</c> seconds, else 10 minutes, which
    /// must cover the longest work rank 0 does alone between two steps (writing a checkpoint of a large model).
    /// </summary>
    public static TimeSpan DefaultTimeout
    {
        get
        {
            var text = Environment.GetEnvironmentVariable(TimeoutVariable);
            if (string.IsNullOrWhiteSpace(text))
            {
                return TimeSpan.FromMinutes(10);
            }
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || !(seconds > 0) || double.IsInfinity(seconds))
            {
                throw new BertSharpException($"{TimeoutVariable}={text}: expected a positive number of seconds.");
            }
            // Beyond what a TimeSpan (about 9.2e11 s) and the watchdog's nanosecond deadline hold: 1e12 was an OverflowException.
            if (seconds > MaxTimeoutSeconds)
            {
                throw new BertSharpException($"{TimeoutVariable}={text}: expected a positive number of seconds, at most 1e9 (about 31 years).");
            }
            return TimeSpan.FromSeconds(seconds);
        }
    }

    /// <summary>(rank, size) set by Open MPI's launcher, or null when this process was not started by one.</summary>
    public static (int Rank, int Size)? Launcher()
    {
        var rank = Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_RANK");
        var size = Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE");
        if (rank is null || size is null)
        {
            return null;
        }
        if (!int.TryParse(rank, NumberStyles.None, CultureInfo.InvariantCulture, out var r) ||
            !int.TryParse(size, NumberStyles.None, CultureInfo.InvariantCulture, out var s) || s < 1 || r >= s)
        {
            throw new BertSharpException($"OMPI_COMM_WORLD_RANK={rank}, OMPI_COMM_WORLD_SIZE={size}: expected 0 <= rank < size.");
        }
        return (r, s);
    }

    /// <summary>
    /// The communicator for this process: <see cref="MpiCommunicator.World"/> when started by <c>mpirun</c> with more than
    /// one rank, <see cref="NcclCommunicator"/> on top of it for <paramref name="backend"/> <c>nccl</c>, otherwise
    /// <see cref="LocalCommunicator"/>.
    /// </summary>
    /// <param name="backend"><c>auto</c> (MPI under mpirun, else local), <c>mpi</c>, <c>nccl</c> or <c>local</c>.</param>
    /// <param name="cudaDevice">CUDA device of this rank for NCCL (usually the rank's index on its host).</param>
    public static ICommunicator Create(string backend = "auto", int cudaDevice = 0)
    {
        var launched = Launcher();
        switch (backend)
        {
            case "local":
                return new LocalCommunicator();
            case "auto":
                return launched is { Size: > 1 } ? World(launched.Value) : new LocalCommunicator();
            case "mpi":
                return launched is null ? new LocalCommunicator() : World(launched.Value);
            case "nccl":
                return NcclCommunicator.Create(launched is null ? new LocalCommunicator() : World(launched.Value), cudaDevice);
            default:
                throw new BertSharpException($"distributed backend '{backend}': expected auto, mpi, nccl or local.");
        }
    }

    /// <summary>The rank of this process on its host (for choosing a GPU), from Open MPI's launcher; 0 otherwise.</summary>
    public static int LocalRank =>
        int.TryParse(Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_LOCAL_RANK"), NumberStyles.None, CultureInfo.InvariantCulture, out var r) ? r : 0;

    private static MpiCommunicator World((int Rank, int Size) launched)
    {
        var world = MpiCommunicator.World();
        if (world.Rank != launched.Rank || world.WorldSize != launched.Size)
        {
            throw new BertSharpException(string.Create(CultureInfo.InvariantCulture, $"MPI reports rank {world.Rank} of {world.WorldSize} but the launcher set rank {launched.Rank} of " +
                                         $"{launched.Size}; start every rank with the same Open MPI's mpirun."));
        }
        return world;
    }
}
