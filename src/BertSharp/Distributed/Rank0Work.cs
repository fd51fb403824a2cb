namespace BertSharp.Distributed;

/// <summary>
/// A section of work that rank 0 of a data-parallel group does alone (validation, writing a checkpoint, checking a resume's
/// settings) while the other ranks wait for it without the collective timeout, and the ranks' agreement at its end. Every
/// rank runs the same section, each doing its own share of the work inside it (rank 0's being the solo work). When the work
/// of one rank throws, every rank throws at the end: that rank its own exception, the others a
/// <see cref="RankFailedException"/>. A bare barrier after the work left the other ranks waiting forever for a rank 0 whose
/// work had thrown, in a process that caught the exception and went on.
/// </summary>
public sealed class Rank0Work : IDisposable
{
    private readonly ICommunicator _communicator;
    private readonly string _what;
    private bool _ended;

    private Rank0Work(ICommunicator communicator, string what)
    {
        _communicator = communicator;
        _what = what;
    }

    /// <summary>
    /// Starts a section; call <see cref="End"/> on every rank once its share of the work is done, and dispose the result in
    /// any case: disposed before <see cref="End"/> (this rank's work threw), it tells the other ranks that this rank failed.
    /// </summary>
    /// <param name="communicator">The data-parallel group.</param>
    /// <param name="what">The work, for the other ranks' error, e.g. "the checkpoint at step 40".</param>
    public static Rank0Work Begin(ICommunicator communicator, string what)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        ArgumentException.ThrowIfNullOrWhiteSpace(what);
        return new Rank0Work(communicator, what);
    }

    /// <summary>Runs <paramref name="work"/> (this rank's share) as one section (<see cref="Begin"/>, <see cref="End"/>).</summary>
    /// <param name="communicator">The data-parallel group.</param>
    /// <param name="what">The work, for the other ranks' error.</param>
    /// <param name="work">This rank's share of the work.</param>
    public static void Run(ICommunicator communicator, string what, Action work)
    {
        ArgumentNullException.ThrowIfNull(work);
        using var section = Begin(communicator, what);
        work();
        section.End();
    }

    /// <summary>
    /// Waits, without the collective timeout, until every rank has ended its share of the work, and throws
    /// <see cref="RankFailedException"/> when the work of another rank failed.
    /// </summary>
    /// <exception cref="InvalidOperationException">The section has already ended (by <see cref="End"/> or <see cref="Dispose"/>).</exception>
    public void End()
    {
        // A second meeting would pair with the other ranks' next section and report its outcome as this one's; a section
        // is not a disposed resource, so ObjectDisposedException (what this threw) would misname the mistake.
        if (_ended)
        {
            throw new InvalidOperationException($"The section of rank 0's work '{_what}' has already ended; End is called once per section, before Dispose.");
        }
        _ended = true;
        if (_communicator.BarrierWithoutTimeout(succeeded: true) is { } failed)
        {
            throw new RankFailedException(failed, _communicator.WorldSize, _what);
        }
    }

    /// <summary>Before <see cref="End"/>: tells the other ranks that this rank's work failed; after it: nothing.</summary>
    public void Dispose()
    {
        if (_ended)
        {
            return;
        }
        _ended = true;
        try
        {
            _communicator.BarrierWithoutTimeout(succeeded: false);
        }
        catch (Exception e) when (e is InvalidOperationException or BertSharpException or System.Runtime.InteropServices.ExternalException)
        {
            // The exception that ended the work is the one to report; a meeting that failed as well (the others in another
            // collective, the group closed) adds nothing to it.
        }
    }
}
