using TorchSharp;

namespace BertSharp.Distributed;

/// <summary>
/// Collectives with NCCL on CUDA tensors, one GPU per rank. The ranks find each other through a bootstrap communicator (MPI
/// under mpirun): rank 0 creates the NCCL id and broadcasts it, then every rank joins with ncclCommInitRank. Operations run
/// on libtorch's default CUDA stream (TorchSharp exposes no other) so they are ordered after the kernels that produced the
/// tensors; each call waits for its result, under the same watchdog timeout as MPI.
/// </summary>
public sealed unsafe class NcclCommunicator : ICommunicator
{
    private readonly NcclLibrary _nccl;
    private readonly ICommunicator _bootstrap;
    private readonly CollectiveWatchdog _watchdog;
    private readonly object _callGate = new();
    private IntPtr _comm;

    private NcclCommunicator(NcclLibrary nccl, ICommunicator bootstrap, int device)
    {
        _nccl = nccl;
        _bootstrap = bootstrap;
        Device = device;
        Version = nccl.Version();
        _watchdog = new CollectiveWatchdog(bootstrap.Timeout, Invariant($"rank {bootstrap.Rank} of {bootstrap.WorldSize} (nccl, cuda:{device})"), AbortJob);
        try
        {
            _comm = Join(nccl, bootstrap, device);
        }
        catch
        {
            _watchdog.Dispose();
            throw;
        }
    }

    private IntPtr Join(NcclLibrary nccl, ICommunicator bootstrap, int device)
    {
        CudaDriver.MakeCurrent(device);
        NcclLibrary.UniqueId id = default;
        if (bootstrap.Rank == 0)
        {
            nccl.Check(nccl.GetUniqueId(&id), "ncclGetUniqueId");
        }
        var bytes = new byte[128];
        new ReadOnlySpan<byte>(&id, 128).CopyTo(bytes);
        using (var idTensor = torch.tensor(bytes))
        {
            bootstrap.Broadcast(idTensor, 0);
            idTensor.data<byte>().ToArray().CopyTo(new Span<byte>(&id, 128));
        }
        IntPtr comm;
        using (_watchdog.Enter("NCCL communicator set-up"))
        {
            nccl.Check(nccl.CommInitRank(&comm, bootstrap.WorldSize, id, bootstrap.Rank), "ncclCommInitRank");
        }
        return comm;
    }

    /// <summary>
    /// Creates the NCCL communicator of this rank on <c>cuda:<paramref name="device"/></c>. Throws
    /// <see cref="BertSharpException"/> naming what is missing when libnccl, CUDA in libtorch, or the driver is absent.
    /// </summary>
    /// <param name="bootstrap">Exchanges the NCCL id; its rank, size and timeout become this communicator's.</param>
    /// <param name="device">Index of this rank's GPU (usually <see cref="DistributedEnvironment.LocalRank"/>).</param>
    public static NcclCommunicator Create(ICommunicator bootstrap, int device)
    {
        ArgumentNullException.ThrowIfNull(bootstrap);
        ArgumentOutOfRangeException.ThrowIfNegative(device);
        var nccl = NcclLibrary.Load();
        if (!torch.cuda.is_available())
        {
            throw new BertSharpException($"NCCL backend: CUDA is not available to libtorch here ({nccl.Name} was found, but this build uses " +
                                         "the CPU libtorch package or no GPU is visible); use the mpi backend on CPUs.");
        }
        if (device >= torch.cuda.device_count())
        {
            throw new BertSharpException(Invariant($"NCCL backend: cuda:{device} does not exist ({torch.cuda.device_count()} visible GPUs); run at most one rank per GPU."));
        }
        return new NcclCommunicator(nccl, bootstrap, device);
    }

    /// <summary>Index of this rank's GPU.</summary>
    public int Device { get; }

    /// <summary>NCCL's version, e.g. "2.21.5".</summary>
    public string Version { get; }

    /// <inheritdoc />
    public int Rank => _bootstrap.Rank;

    /// <inheritdoc />
    public int WorldSize => _bootstrap.WorldSize;

    /// <inheritdoc />
    public string Backend => "nccl";

    /// <inheritdoc />
    public TimeSpan Timeout => _bootstrap.Timeout;

    /// <inheritdoc />
    public void AllReduce(torch.Tensor tensor, ReduceOp op = ReduceOp.Sum)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        CollectiveChecks.CheckReduce(tensor, op);
        var type = DataType(tensor, Device, "all-reduce");
        var ncclOp = op switch { ReduceOp.Max => 2, ReduceOp.Min => 3, _ => 0 };
        TensorMemory.InPlace(tensor, t =>
        {
            Run(Invariant($"all-reduce of {t.numel()} {t.dtype} values"), () =>
            {
                var p = TensorMemory.DataPointer(t);
                _nccl.Check(_nccl.AllReduce(p, p, (nuint)t.numel(), type, ncclOp, _comm, IntPtr.Zero), "ncclAllReduce");
            });
            ReduceAverage.Finish(t, op, WorldSize);
        });
    }

    /// <inheritdoc />
    public void Broadcast(torch.Tensor tensor, int root = 0)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        CollectiveChecks.CheckRoot(root, WorldSize);
        CollectiveChecks.CheckWritable(tensor, "broadcast");
        var type = DataType(tensor, Device, "broadcast");
        TensorMemory.InPlace(tensor, t => Run(Invariant($"broadcast of {t.numel()} {t.dtype} values from rank {root}"), () =>
        {
            var p = TensorMemory.DataPointer(t);
            _nccl.Check(_nccl.Broadcast(p, p, (nuint)t.numel(), type, root, _comm, IntPtr.Zero), "ncclBroadcast");
        }));
    }

    /// <inheritdoc />
    public void Barrier()
    {
        SynchronizeCuda();
        _bootstrap.Barrier();
    }

    /// <inheritdoc />
    public int? BarrierWithoutTimeout(bool succeeded = true)
    {
        SynchronizeCuda();
        return _bootstrap.BarrierWithoutTimeout(succeeded);
    }

    // A barrier is over the bootstrap (MPI) communicator; this rank's queued NCCL work must be done before it counts as arrived.
    private void SynchronizeCuda()
    {
        lock (_callGate)
        {
            using (_watchdog.Enter("CUDA synchronisation before a barrier"))
            {
                torch.cuda.synchronize();
            }
        }
    }

    /// <summary>Destroys the NCCL communicator; the bootstrap communicator stays open.</summary>
    public void Dispose()
    {
        lock (_callGate)
        {
            if (_comm != IntPtr.Zero)
            {
                _nccl.CommDestroy(_comm);
                _comm = IntPtr.Zero;
            }
        }
        _watchdog.Dispose();
    }

    /// <summary>NCCL's data type for a tensor, after checking that it lives on this rank's GPU.</summary>
    internal static int DataType(torch.Tensor tensor, int device, string what)
    {
        if (tensor.device_type != DeviceType.CUDA || tensor.device_index != device)
        {
            throw new ArgumentException(Invariant($"NCCL {what} needs a CUDA tensor on cuda:{device} (this rank's GPU); got one on {tensor.device}."), nameof(tensor));
        }
        return tensor.dtype switch
        {
            torch.ScalarType.Int8 => 0,
            torch.ScalarType.Byte => 1,
            torch.ScalarType.Int32 => 2,
            torch.ScalarType.Int64 => 4,
            torch.ScalarType.Float16 => 6,
            torch.ScalarType.Float32 => 7,
            torch.ScalarType.Float64 => 8,
            torch.ScalarType.BFloat16 => 9,
            _ => throw new ArgumentException($"NCCL {what} supports int8, uint8, int32, int64, float16, bfloat16, float32 and float64 tensors; got {tensor.dtype}.", nameof(tensor)),
        };
    }

    private void Run(string what, Action enqueue)
    {
        lock (_callGate)
        {
            ObjectDisposedException.ThrowIf(_comm == IntPtr.Zero, this);
            using var watch = _watchdog.Enter(what);
            enqueue();
            // NCCL only enqueues; waiting here makes the result visible on return and lets the watchdog bound the wait.
            torch.cuda.synchronize();
        }
    }

    private void AbortJob(int exitCode)
    {
        if (_comm != IntPtr.Zero)
        {
            _nccl.CommAbort(_comm);
        }
        if (_bootstrap is MpiCommunicator mpi)
        {
            mpi.Abort(exitCode);
        }
        Environment.Exit(exitCode);
    }
}
