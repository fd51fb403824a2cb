using System.Diagnostics;
using System.Globalization;
using BertSharp.Distributed;
using TorchSharp;

namespace BertSharp.Cli.Commands;

/// <summary>
/// <c>bert doctor</c>'s distributed line: under mpirun (or <c>bert launch</c>) every rank joins an all-reduce, a broadcast
/// and a barrier whose results it can check, so a user learns that the ranks reach each other before a long run.
/// </summary>
internal static class DistributedCheck
{
    private const int Elements = 1 << 20;

    /// <summary>Runs the check on every rank; returns the line rank 0 prints (other ranks' stdout is silenced).</summary>
    public static string Run()
    {
        if (DistributedEnvironment.Launcher() is not { Size: > 1 })
        {
            var mpirun = MpiLauncher.FindMpirun();
            return mpirun is null
                ? $"single process; mpirun not found ({MpiLauncher.InstallHint} to run data-parallel)"
                : $"single process; mpirun at {mpirun} (bert launch --nproc N -- COMMAND runs N ranks)";
        }
        var comm = (MpiCommunicator)DistributedEnvironment.Create("mpi");
        var quiet = DataParallelRank.Quiet(comm);
        var n = comm.WorldSize;
        // Scalars held for the calls (TorchSharp does not keep an implicit one alive; build/BannedSymbols.txt).
        using var rankPlusOne = (comm.Rank + 1).ToScalar();
        using var expectedSum = (n * (n + 1) / 2.0f).ToScalar();
        using var rootFill = ((long)comm.Rank + 7).ToScalar();
        using var expectedRoot = (n + 6).ToScalar();
        using var values = torch.full(Elements, rankPlusOne, dtype: torch.ScalarType.Float32);
        comm.Barrier(); // ranks start at different times; time the all-reduce, not the wait for the slowest start
        var watch = Stopwatch.StartNew();
        comm.AllReduce(values, ReduceOp.Sum);
        var ms = watch.Elapsed.TotalMilliseconds;
        var sumOk = values.eq(expectedSum).all().item<bool>();
        using var rootValue = torch.full(3, rootFill);
        comm.Broadcast(rootValue, n - 1);
        var broadcastOk = rootValue.eq(expectedRoot).all().item<bool>();
        comm.Barrier();
        using var failures = torch.tensor(new long[] { sumOk && broadcastOk ? 0 : 1 });
        comm.AllReduce(failures, ReduceOp.Sum);
        var failed = failures.item<long>();
        var line = failed == 0
            ? string.Create(CultureInfo.InvariantCulture, $"mpi, rank 0 of {n}, {comm.LibraryVersion.Split(',')[0]}; all-reduce, broadcast and barrier checks passed (all-reduce of {Elements:N0} floats: {ms:0.0} ms)")
            : $"mpi, {n} ranks: {failed} rank(s) got wrong all-reduce or broadcast results";
        // The process exits after doctor, so the communicator and the rank-0-only output stay in force until then.
        GC.KeepAlive(quiet);
        return failed == 0 ? line : throw new BertSharpException("distributed check failed: " + line);
    }
}
