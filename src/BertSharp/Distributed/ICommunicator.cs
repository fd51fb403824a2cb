using TorchSharp;

namespace BertSharp.Distributed;

/// <summary>How <see cref="ICommunicator.AllReduce"/> combines the ranks' values.</summary>
public enum ReduceOp
{
    /// <summary>Element-wise sum over all ranks.</summary>
    Sum,

    /// <summary>Element-wise sum divided by the world size (floating-point tensors only).</summary>
    Average,

    /// <summary>Element-wise maximum over all ranks.</summary>
    Max,

    /// <summary>Element-wise minimum over all ranks.</summary>
    Min,
}

/// <summary>
/// The collectives that data-parallel training needs, over one group of processes ("ranks"). Every rank must call the same
/// collectives in the same order with tensors of the same shape and dtype. Each call is synchronous (the result is in the
/// tensor when it returns) and bounded by <see cref="Timeout"/>: a rank that never arrives takes the whole job down with a
/// message instead of hanging it. Backends: <see cref="LocalCommunicator"/> (one process), <see cref="MpiCommunicator"/>
/// (Open MPI, CPU tensors) and <see cref="NcclCommunicator"/> (NCCL, CUDA tensors).
/// </summary>
public interface ICommunicator : IDisposable
{
    /// <summary>This process's index in the group, 0 ≤ rank &lt; <see cref="WorldSize"/>; rank 0 writes outputs.</summary>
    int Rank { get; }

    /// <summary>Number of processes in the group.</summary>
    int WorldSize { get; }

    /// <summary>Backend name for logs: <c>local</c>, <c>mpi</c> or <c>nccl</c>.</summary>
    string Backend { get; }

    /// <summary>Longest time one collective may wait for the other ranks before the job is aborted.</summary>
    TimeSpan Timeout { get; }

    /// <summary>Combines <paramref name="tensor"/> (any shape) in place across all ranks; every rank receives the result.</summary>
    void AllReduce(torch.Tensor tensor, ReduceOp op = ReduceOp.Sum);

    /// <summary>Overwrites <paramref name="tensor"/> (any shape) on every rank with rank <paramref name="root"/>'s values.</summary>
    void Broadcast(torch.Tensor tensor, int root = 0);

    /// <summary>Returns once every rank has called it.</summary>
    void Barrier();

    /// <summary>
    /// A barrier without <see cref="Timeout"/> that carries each rank's <paramref name="succeeded"/>: returns once every rank
    /// has called it, however long that takes, with the lowest rank that called it with false, or null when none did. For
    /// the ranks that wait while rank 0 works alone (validation, writing a checkpoint), which may take longer than a
    /// collective should ever wait, and learn here whether that work failed (<see cref="Rank0Work"/>); a rank that dies
    /// meanwhile still ends the job through the launcher.
    /// </summary>
    /// <param name="succeeded">False when this rank's work since its last collective failed.</param>
    int? BarrierWithoutTimeout(bool succeeded = true);
}
