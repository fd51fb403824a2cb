using BertSharp.Distributed;
using TorchSharp;

namespace BertSharp.Tests.Distributed;

/// <summary>
/// One rank of a group that exists only in this process: its untimed barrier records what this rank brought to it
/// (<see cref="Arrivals"/>) and, from its <paramref name="failingMeeting"/>-th one on (0-based), answers with
/// <paramref name="failedRank"/>, as if that rank's work had failed (null: none). Its other collectives leave every value
/// as it is (the other ranks contribute nothing), so that a whole training run can go through it.
/// </summary>
internal sealed class AgreeingRank(int rank, int worldSize, int? failedRank = null, int failingMeeting = 0) : ICommunicator
{
    /// <summary>The <c>succeeded</c> of each untimed barrier this rank has been in, in order.</summary>
    public List<bool> Arrivals { get; } = [];

    /// <summary>
    /// Runs in each timed barrier: what happens while this rank waits there for slower ones (the training loops' barrier
    /// before rank 0 opens the run directory), e.g. something else writing where rank 0 is about to.
    /// </summary>
    public Action? WhileInBarrier { get; init; }

    public int Rank => rank;
    public int WorldSize => worldSize;
    public string Backend => "agreeing";
    public TimeSpan Timeout => TimeSpan.FromSeconds(1);

    public void AllReduce(torch.Tensor tensor, ReduceOp op = ReduceOp.Sum)
    {
    }

    public void Broadcast(torch.Tensor tensor, int root = 0)
    {
    }

    public void Barrier() => WhileInBarrier?.Invoke();

    public int? BarrierWithoutTimeout(bool succeeded = true)
    {
        Arrivals.Add(succeeded);
        var failed = Arrivals.Count > failingMeeting ? failedRank : null;
        return succeeded ? failed : Math.Min(rank, failed ?? rank);
    }

    public void Dispose()
    {
    }
}
