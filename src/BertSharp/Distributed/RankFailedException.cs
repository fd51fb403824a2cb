
namespace BertSharp.Distributed;

/// <summary>
/// Another rank of the data-parallel group failed during work that this rank waited for (<see cref="Rank0Work"/>): this
/// rank cannot go on without it. The failed rank's own exception says why.
/// </summary>
public sealed class RankFailedException : BertSharpException
{
    /// <param name="failedRank">The rank whose work failed.</param>
    /// <param name="worldSize">The number of ranks in the group.</param>
    /// <param name="what">The work, e.g. "the checkpoint at step 40".</param>
    public RankFailedException(int failedRank, int worldSize, string what)
        : base(Invariant($"rank {failedRank} of {worldSize} failed during {what}; this rank stops with it (rank {failedRank}'s own error says why)."))
    {
        FailedRank = failedRank;
    }

    /// <summary>The rank whose work failed.</summary>
    public int FailedRank { get; }
}
