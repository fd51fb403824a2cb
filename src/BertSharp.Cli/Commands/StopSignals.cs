using System.Runtime.InteropServices;

namespace BertSharp.Cli.Commands;

/// <summary>Ctrl-C and SIGTERM as a cancellation of a training run.</summary>
internal static class StopSignals
{
    /// <summary>
    /// Runs <paramref name="run"/> with a token that Ctrl-C / SIGTERM cancel: the run stops before its next step and its
    /// clean-up runs, where the signal's default ended the process on the spot and left half-written output behind.
    /// </summary>
    public static T Run<T>(Func<CancellationToken, T> run)
    {
        using var cancel = new CancellationTokenSource();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; cancel.Cancel(); });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; cancel.Cancel(); });
        return run(cancel.Token);
    }
}
