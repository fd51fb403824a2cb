using TorchSharp;

namespace BertSharp.Distributed;

/// <summary>
/// Collectives over Open MPI's <c>MPI_COMM_WORLD</c> on CPU tensors (libmpi bound at run time; see
/// <see cref="MpiLibrary"/>). MPI can be initialised once per process, so there is one instance, <see cref="World"/>;
/// disposing it finalises MPI. Rank and size are MPI's, which are the launcher's (<c>OMPI_COMM_WORLD_RANK/SIZE</c>).
/// </summary>
public sealed unsafe class MpiCommunicator : ICommunicator
{
    // MPI counts are C ints; larger tensors go in chunks of this many elements.
    private const long ChunkElements = 1L << 30;

    // How long a rank waiting for the others polls before it sleeps for a millisecond (see WaitForAllRanks).
    private static readonly long PollBurstTicks = TimeSpan.FromMicroseconds(50).Ticks;

    private static readonly object InitGate = new();
    private static MpiCommunicator? _world;
    private static bool _finalized;

    private readonly MpiLibrary _mpi;
    private readonly object _callGate = new();
    private readonly CollectiveWatchdog _watchdog;
    private readonly int _threadLevel;
    private bool _disposed;
    private volatile bool _aborting;

    private MpiCommunicator(MpiLibrary mpi, TimeSpan timeout)
    {
        _mpi = mpi;
        int initialized;
        mpi.Check(mpi.Initialized(&initialized), "MPI_Initialized");
        int provided = MpiLibrary.ThreadMultiple;
        if (initialized == 0)
        {
            // THREAD_MULTIPLE: the watchdog thread may call MPI_Abort while the main thread waits inside a collective.
            mpi.Check(mpi.InitThread(null, null, MpiLibrary.ThreadMultiple, &provided), "MPI_Init_thread");
        }
        _threadLevel = provided;
        int rank, size;
        mpi.Check(mpi.CommRank(mpi.CommWorld, &rank), "MPI_Comm_rank");
        mpi.Check(mpi.CommSize(mpi.CommWorld, &size), "MPI_Comm_size");
        Rank = rank;
        WorldSize = size;
        Timeout = timeout;
        LibraryVersion = mpi.Version();
        _watchdog = new CollectiveWatchdog(timeout, Invariant($"rank {rank} of {size} (mpi)"), Abort);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Dispose();
    }

    /// <summary>
    /// Initialises MPI on first use (later calls return the same instance) and returns <c>MPI_COMM_WORLD</c>.
    /// Throws <see cref="BertSharpException"/> when Open MPI is not installed, naming the packages to install.
    /// </summary>
    /// <param name="timeout">Longest wait of one collective (first call only); null: <see cref="DistributedEnvironment.DefaultTimeout"/>.</param>
    public static MpiCommunicator World(TimeSpan? timeout = null)
    {
        lock (InitGate)
        {
            if (_world is { _disposed: false })
            {
                return _world;
            }
            if (_finalized)
            {
                throw new InvalidOperationException("MPI was already finalised in this process and cannot be initialised again.");
            }
            _world = new MpiCommunicator(MpiLibrary.Instance, timeout ?? DistributedEnvironment.DefaultTimeout);
            return _world;
        }
    }

    /// <inheritdoc />
    public int Rank { get; }

    /// <inheritdoc />
    public int WorldSize { get; }

    /// <inheritdoc />
    public string Backend => "mpi";

    /// <inheritdoc />
    public TimeSpan Timeout { get; }

    /// <summary>MPI's own description of itself, e.g. "Open MPI v4.1.4, package: Debian OpenMPI, ...".</summary>
    public string LibraryVersion { get; }

    /// <inheritdoc />
    public void AllReduce(torch.Tensor tensor, ReduceOp op = ReduceOp.Sum)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        CollectiveChecks.CheckReduce(tensor, op);
        var type = DataType(tensor, "all-reduce");
        var mpiOp = op switch
        {
            ReduceOp.Max => _mpi.OpMax,
            ReduceOp.Min => _mpi.OpMin,
            _ => _mpi.OpSum,
        };
        TensorMemory.InPlace(tensor, t =>
        {
            Run(Invariant($"all-reduce of {t.numel()} {t.dtype} values"), new CollectiveCall(CollectiveKind.AllReduce, t.dtype, t.numel(), (int)op), t, (p, n) => _mpi.Check(
                _mpi.Allreduce(MpiLibrary.InPlace, p, n, type, mpiOp, _mpi.CommWorld), "MPI_Allreduce"));
            ReduceAverage.Finish(t, op, WorldSize);
        });
    }

    /// <inheritdoc />
    public void Broadcast(torch.Tensor tensor, int root = 0)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        CollectiveChecks.CheckRoot(root, WorldSize);
        CollectiveChecks.CheckWritable(tensor, "broadcast");
        var type = DataType(tensor, "broadcast");
        TensorMemory.InPlace(tensor, t => Run(Invariant($"broadcast of {t.numel()} {t.dtype} values from rank {root}"),
            new CollectiveCall(CollectiveKind.Broadcast, t.dtype, t.numel(), root), t,
            (p, n) => _mpi.Check(_mpi.Bcast(p, n, type, root, _mpi.CommWorld), "MPI_Bcast")));
    }

    /// <inheritdoc />
    public void Barrier() => Barrier("barrier", Timeout, succeeded: true);

    /// <inheritdoc />
    public int? BarrierWithoutTimeout(bool succeeded = true) =>
        Barrier("barrier while rank 0 works alone", System.Threading.Timeout.InfiniteTimeSpan, succeeded);

    private int? Barrier(string what, TimeSpan timeout, bool succeeded)
    {
        lock (_callGate)
        {
            ThrowIfDisposed();
            using var watch = _watchdog.Enter(what, timeout);
            return WaitForAllRanks(what, CollectiveCall.Barrier, failed: !succeeded);
        }
    }

    /// <summary>
    /// Stops every rank of the job now with <paramref name="exitCode"/> (MPI_Abort). For a rank that failed on its own (bad
    /// input, an exception) while the others wait in a collective: exiting normally would leave them waiting until the
    /// timeout, and MPI_Finalize could wait for them forever.
    /// </summary>
    public void Abort(int exitCode)
    {
        _aborting = true;
        if (_threadLevel >= MpiLibrary.ThreadMultiple)
        {
            _mpi.Abort(_mpi.CommWorld, exitCode);
        }
        // MPI_Abort does not return. Without THREAD_MULTIPLE it may not be called beside a waiting collective; ending the
        // process unfinalised has the same effect, since the launcher stops the job when one rank does that.
        Environment.Exit(exitCode);
    }

    /// <summary>
    /// For a process's error path: when MPI is running with more than one rank, stops the whole job with
    /// <paramref name="exitCode"/> (see <see cref="Abort"/>); otherwise does nothing. A failing rank must not finalise MPI,
    /// which would wait for ranks that are waiting for it.
    /// </summary>
    public static void AbortIfRunning(int exitCode)
    {
        MpiCommunicator? world;
        lock (InitGate)
        {
            world = _world is { _disposed: false, WorldSize: > 1 } ? _world : null;
        }
        world?.Abort(exitCode);
    }

    /// <summary>Finalises MPI (collective: every rank must get here). Later calls do nothing.</summary>
    public void Dispose()
    {
        lock (InitGate)
        {
            if (_disposed || _aborting)
            {
                return;
            }
            _disposed = true;
            int finalized;
            if (!_watchdog.Terminating && _mpi.Finalized(&finalized) == 0 && finalized == 0)
            {
                // MPI_Finalize waits for every rank as a collective does, polling: rank 0 still writing the final model
                // would keep the others spinning. They wait here instead, sleeping.
                using (_watchdog.Enter("finalize"))
                {
                    // A rank still in a collective learns of the disagreement and fails; finalising goes ahead here.
                    WaitForAllRanks("finalize", CollectiveCall.Finalize, throwOnDisagreement: false);
                }
                _mpi.Finalize();
            }
            _watchdog.Dispose();
            _finalized = true;
        }
    }

    private void Run(string what, CollectiveCall call, torch.Tensor tensor, Action<IntPtr, int> transfer)
    {
        lock (_callGate)
        {
            ThrowIfDisposed();
            var ptr = TensorMemory.DataPointer(tensor);
            var count = tensor.numel();
            var size = tensor.ElementSize;
            using var watch = _watchdog.Enter(what);
            WaitForAllRanks(what, call);
            for (long offset = 0; offset < count; offset += ChunkElements)
            {
                transfer(ptr + checked((nint)(offset * size)), (int)Math.Min(ChunkElements, count - offset));
            }
        }
    }

    /// <summary>
    /// Returns when every rank has reached this call and all of them are about to make the same collective call
    /// (<paramref name="call"/>: kind, dtype, element count, op or root): a non-blocking all-reduce of each rank's call
    /// (the maximum and the minimum of every field), tested in short bursts with sleeps between. Ranks that disagree all
    /// throw before any data moves: MPI itself would exchange mismatched buffers as garbage, read past the shorter one,
    /// or wait forever in calls that do not match. The same all-reduce carries whether a rank <paramref name="failed"/>
    /// (every call sends that value, so that the ranks' buffers always have one length): returns the lowest rank that did,
    /// or null.
    /// </summary>
    /// <remarks>
    /// Open MPI's blocking collectives poll while they wait: a rank that arrives first spins (with
    /// <c>mpi_yield_when_idle</c>, calls sched_yield in a loop) on a whole core until the last rank arrives — after every
    /// rank-0-only save, every uneven batch, every slower start. Where cores are shared (ranks beside each other or other
    /// jobs) that takes the CPU from the ranks still computing (on 2 vCPUs this wait took a 10-step 2-rank pre-training of
    /// the tiny fixture from 4.7 to 3.9–4.1 CPU-seconds, docs/distributed.md). So each collective first waits here,
    /// sleeping, and then runs with every rank present (its data moves at full speed: polling is what moves it, so the
    /// transfer itself must not sleep). The cost is one small all-reduce's latency per collective, and up to about a millisecond of
    /// wake-up after a wait.
    /// </remarks>
    private int? WaitForAllRanks(string what, CollectiveCall call, bool throwOnDisagreement = true, bool failed = false)
    {
        if (WorldSize == 1)
        {
            return failed ? Rank : null;
        }
        // Fields, then their negations: one MPI_MAX gives every field's maximum and minimum over the ranks. Last, a failed
        // rank's distance from the end, whose maximum names the lowest failed rank. The buffer lives on this frame, which
        // stays until the request has completed (or the process is aborted).
        var fields = call.Fields();
        var length = 2 * fields.Length + 1;
        var agreed = stackalloc long[length];
        for (var i = 0; i < fields.Length; i++)
        {
            agreed[i] = fields[i];
            agreed[fields.Length + i] = -fields[i];
        }
        agreed[length - 1] = failed ? WorldSize - Rank : 0;
        IntPtr request;
        _mpi.Check(_mpi.Iallreduce(MpiLibrary.InPlace, (IntPtr)agreed, length, _mpi.Int64, _mpi.OpMax, _mpi.CommWorld, &request), "MPI_Iallreduce");
        var burst = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            int done;
            _mpi.Check(_mpi.Test(&request, &done, IntPtr.Zero), "MPI_Test");
            if (done != 0)
            {
                var disagreement = throwOnDisagreement ? call.Disagreement(new ReadOnlySpan<long>(agreed, 2 * fields.Length)) : null;
                if (disagreement is not null)
                {
                    throw new InvalidOperationException(
                        Invariant($"{what} on rank {Rank} of {WorldSize} (mpi): the ranks disagree ({disagreement}); every rank must make the ") +
                        "same collective calls in the same order with tensors of the same dtype and number of elements. Nothing was exchanged.");
                }
                return agreed[length - 1] == 0 ? null : WorldSize - (int)agreed[length - 1];
            }
            // Ranks that arrive together finish within a burst of polling; a barrier's later rounds need each rank to poll
            // again, so every wake-up polls for a burst before sleeping once more.
            if (burst.Elapsed.Ticks > PollBurstTicks)
            {
                Thread.Sleep(1);
                burst.Restart();
            }
        }
    }

    private IntPtr DataType(torch.Tensor tensor, string what)
    {
        if (tensor.device_type != DeviceType.CPU)
        {
            throw new ArgumentException($"MPI {what} needs a CPU tensor; got one on {tensor.device} (use the NCCL backend for CUDA tensors).", nameof(tensor));
        }
        return tensor.dtype switch
        {
            torch.ScalarType.Float32 => _mpi.Float,
            torch.ScalarType.Float64 => _mpi.Double,
            torch.ScalarType.Int32 => _mpi.Int32,
            torch.ScalarType.Int64 => _mpi.Int64,
            torch.ScalarType.Byte => _mpi.UInt8,
            _ => throw new ArgumentException($"MPI {what} supports float32, float64, int32, int64 and uint8 tensors; got {tensor.dtype}.", nameof(tensor)),
        };
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);
}
