using System.CommandLine;
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
    /// <summary>The commands that run as the ranks of one job; any other would run whole on every rank.</summary>
    public static readonly IReadOnlyList<string> Commands = ["pretrain", "finetune", "doctor", "bench allreduce"];

    /// <summary>
    /// Refuses a command that does not run data-parallel when it is to run as more than one rank (under <c>bert launch</c>
    /// or mpirun): each rank would run it whole, writing the same output at once (two ranks of <c>pretrain-data</c> raced
    /// on one temporary directory and failed) or printing everything N times, and <c>launch</c> itself cannot nest.
    /// </summary>
    public static void RefuseUnlessDataParallel(ParseResult parse, int ranks)
    {
        var command = CliInput.CommandPath(parse.CommandResult).TrimEnd();
        if (ranks > 1 && !Commands.Contains(command))
        {
            throw new BertSharpException($"bert {command} does not run data-parallel: each of the {ranks} ranks would run it whole; " +
                                         $"run it without bert launch or mpirun (data-parallel commands: {string.Join(", ", Commands)}).");
        }
    }

    public static ICommunicator Join()
    {
        var comm = DistributedEnvironment.Create();
        if (comm.WorldSize > 1)
        {
            Quiet(comm);
        }
        return comm;
    }

    /// <summary>
    /// <see cref="RankOutput.Apply"/>, with each stderr line of this rank leaving the process in one write when bert is the
    /// program: the console's own writer passes a line on 256 characters at a time, and mpirun's abort banner landed between
    /// the pieces of a longer one. A host that runs bert's entry point in its own process keeps its own Console.Error.
    /// </summary>
    public static IDisposable Quiet(ICommunicator comm)
    {
        if (System.Reflection.Assembly.GetEntryAssembly() == typeof(DataParallelRank).Assembly)
        {
            Console.SetError(OneWritePerCall(Console.OpenStandardError(), Console.Error.Encoding));
        }
        return RankOutput.Apply(comm);
    }

    /// <summary>A writer that passes each Write on to <paramref name="stream"/> whole, in one call, up to 64K characters.</summary>
    internal static TextWriter OneWritePerCall(Stream stream, System.Text.Encoding encoding) =>
        new StreamWriter(stream, encoding, 1 << 16, leaveOpen: true) { AutoFlush = true };
}
