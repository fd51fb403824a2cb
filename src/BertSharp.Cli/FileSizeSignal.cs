using System.Runtime.InteropServices;

namespace BertSharp.Cli;

/// <summary>
/// Keeps bert alive past a write beyond the file size limit (<c>ulimit -f</c>): the kernel sends SIGXFSZ with the write's
/// EFBIG failure, and the signal's default action killed the process (exit 153, "File size limit exceeded") with its
/// temporary copy left beside the output, before the failure could be said in one line and the copy removed. Handled, the
/// signal is dropped and the write fails as a full disk's does.
/// </summary>
internal static class FileSizeSignal
{
    // SIGXFSZ on Linux and macOS. PosixSignal names only the signals every platform has; a raw number is accepted as well.
    private const int Sigxfsz = 25;

    // Held for the life of the process: a registration that is collected unregisters its handler.
    private static PosixSignalRegistration? _registration;

    /// <summary>From now on a write past the file size limit fails with an error instead of ending the process.</summary>
    public static void Ignore()
    {
        if (!OperatingSystem.IsWindows())
        {
            _registration ??= PosixSignalRegistration.Create((PosixSignal)Sigxfsz, signal => signal.Cancel = true);
        }
    }
}
