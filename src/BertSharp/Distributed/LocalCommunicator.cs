using TorchSharp;

namespace BertSharp.Distributed;

/// <summary>
/// The group of one process: every collective is the identity. Lets single-process training run the same code path as
/// data-parallel training.
/// </summary>
public sealed class LocalCommunicator : ICommunicator
{
    /// <inheritdoc />
    public int Rank => 0;

    /// <inheritdoc />
    public int WorldSize => 1;

    /// <inheritdoc />
    public string Backend => "local";

    /// <inheritdoc />
    public TimeSpan Timeout => System.Threading.Timeout.InfiniteTimeSpan;

    /// <inheritdoc />
    public void AllReduce(torch.Tensor tensor, ReduceOp op = ReduceOp.Sum)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        CollectiveChecks.CheckReduce(tensor, op);
    }

    /// <inheritdoc />
    public void Broadcast(torch.Tensor tensor, int root = 0)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        CollectiveChecks.CheckRoot(root, 1);
        CollectiveChecks.CheckWritable(tensor, "broadcast");
    }

    /// <inheritdoc />
    public void Barrier()
    {
    }

    /// <inheritdoc />
    public int? BarrierWithoutTimeout(bool succeeded = true) => succeeded ? null : Rank;

    /// <inheritdoc />
    public void Dispose()
    {
    }
}
