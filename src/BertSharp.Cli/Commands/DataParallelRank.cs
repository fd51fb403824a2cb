using BertSharp.Distributed;

namespace BertSharp.Cli.Commands;

/// <summary>
/// How a training command joins a data-parallel job: under <c>mpirun</c> / <c>bert launch</c> with more than one rank it
/// takes the MPI communicator and silences the other ranks' stdout (their stderr lines carry "rank r: "); otherwise it
/// trains as one process. Neither is undone at the end: MPI is finalised when the process exits, and an error must reach
/// the error handler (which aborts every rank) with the rank's prefix.
/// </summary>
internal static class DataParallelRank
{
    public static ICommunicator Join()
    {
        var comm = DistributedEnvironment.Create();
        if (comm.WorldSize > 1)
        {
            RankOutput.Apply(comm);
        }
        return comm;
    }
}
