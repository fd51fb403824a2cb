using BertSharp.Distributed;
using TorchSharp;

namespace BertSharp.Tests.Distributed;

/// <summary>
/// One rank of a group that exists only in this process: its untimed barrier records what this rank brought to it
/// (<see cref="Arrivals"/>) and answers with <paramref name="failedRank"/>, as if that rank's work had failed (null: none).
/// Other collectives are not expected.
/// </summary>
internal sealed class AgreeingRank(int rank, int worldSize, int? failedRank = null) : ICommunicator
{
    /// <summary>The <c>succeeded</c> of each untimed barrier this rank has been in, in order.</summary>
    public List<bool> Arrivals { get; } = [];

    public int Rank => rank;
    public int WorldSize => worldSize;
    public string Backend => "agreeing";
    public TimeSpan Timeout => TimeSpan.FromSeconds(1);
    public void AllReduce(torch.Tensor tensor, ReduceOp op = ReduceOp.Sum) => throw new NotSupportedException();
    public void Broadcast(torch.Tensor tensor, int root = 0) => throw new NotSupportedException();
    public void Barrier() => throw new NotSupportedException();

    public int? BarrierWithoutTimeout(bool succeeded = true)
    {
        Arrivals.Add(succeeded);
        return succeeded ? failedRank : Math.Min(rank, failedRank ?? rank);
    }

    public void Dispose()
    {
    }
}
