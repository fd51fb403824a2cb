using System.Runtime.InteropServices;

namespace BertSharp.Cli.Commands;

/// <summary>Ctrl-C and SIGTERM as a cancellation of a long run (training, a data build, a bench).</summary>
internal static class StopSignals
{
    /// <summary>The line a user reads after the first Ctrl-C, while the run goes on to its next safe point.</summary>
    internal const string FirstInterrupt =
        "bert: stopping at the next safe point; press Ctrl-C again to quit at once (temporary files may then be left behind).";

    /// <summary>
    /// Runs <paramref name="run"/> with a token that Ctrl-C / SIGTERM cancel: the run stops before its next step and its
    /// clean-up runs, where the signal's default ended the process on the spot and left half-written output behind.
    /// </summary>
    public static T Run<T>(Func<CancellationToken, T> run)
    {
        using var cancel = new CancellationTokenSource();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => Handle(c, cancel, Console.Error));
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => Handle(c, cancel, Console.Error));
        return run(cancel.Token);
    }

    /// <summary>
    /// The first stop cancels <paramref name="cancel"/> and keeps the process; a second one gets the signal's default and ends
    /// it at once: a run stuck in a long step (a final validation, a large save) could otherwise not be stopped at all.
    /// </summary>
    internal static void Handle(PosixSignalContext signal, CancellationTokenSource cancel, TextWriter error)
    {
        if (cancel.IsCancellationRequested)
        {
            signal.Cancel = false;
            return;
        }
        signal.Cancel = true;
        cancel.Cancel();
        // Only for Ctrl-C: a service manager's SIGTERM has no one at the keyboard, and its logs keep the one-line error.
        if (signal.Signal == PosixSignal.SIGINT)
        {
            error.WriteLine(FirstInterrupt);
        }
    }
}
