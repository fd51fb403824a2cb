using System.ComponentModel;
using System.Runtime.InteropServices;

namespace BertSharp.DistributedHost;

/// <summary>
/// A full disk without root: while a limit is set (RLIMIT_FSIZE, the soft limit only, so that it can be lifted again), a
/// write that would make a file larger fails with EFBIG ("File too large") as a write to a full disk fails with ENOSPC.
/// SIGXFSZ, which the kernel sends with that failure and which would kill the process, is ignored. It is set in this running
/// process, not with <c>ulimit -f</c> before it starts: .NET sizes the memory file of its W^X code mapping at start-up, and
/// under a limit of a few kB the runtime fails to start ("Failed to create CoreCLR").
/// </summary>
internal static class FileSizeLimit
{
    private const int RlimitFsize = 1;
    private const int Sigxfsz = 25;
    private static readonly IntPtr SigIgn = 1;

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [DllImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    private static extern int GetRLimit(int resource, out RLimit limit);

    [DllImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
    private static extern int SetRLimit(int resource, in RLimit limit);

    [DllImport("libc", EntryPoint = "signal", SetLastError = true)]
    private static extern IntPtr Signal(int signal, IntPtr handler);

    /// <summary>Limits every file this process writes to <paramref name="bytes"/> until the result is disposed.</summary>
    public static IDisposable Set(long bytes)
    {
        if (Signal(Sigxfsz, SigIgn) == -1)
        {
            throw new Win32Exception(Marshal.GetLastPInvokeError(), "signal(SIGXFSZ, SIG_IGN)");
        }
        Check(GetRLimit(RlimitFsize, out var old), "getrlimit");
        Check(SetRLimit(RlimitFsize, new RLimit { Current = (ulong)bytes, Maximum = old.Maximum }), "setrlimit");
        return new Restore(old);
    }

    /// <summary>
    /// Limits every file this process writes to <paramref name="bytes"/> from the moment an entry matching
    /// <paramref name="path"/> (whose file name may hold <c>*</c> and <c>?</c>) exists until the result is disposed: a disk
    /// that fills after a command's first output (a run's first checkpoint, renamed into place whole) and before its next one,
    /// which is as large, so that no limit set from the start could tell the two apart. A pattern, not a name: a run that keeps
    /// only its newest checkpoint may have removed the first before the watcher looked, never all of them. The limit
    /// (process-wide, as every rlimit) is set by a thread that watches for the path while the command runs on.
    /// </summary>
    public static IDisposable SetOnceExists(string path, long bytes) => new Watcher(path, bytes);

    private static void Check(int result, string call)
    {
        if (result != 0)
        {
            throw new Win32Exception(Marshal.GetLastPInvokeError(), call + "(RLIMIT_FSIZE)");
        }
    }

    private sealed class Restore(RLimit old) : IDisposable
    {
        public void Dispose() => Check(SetRLimit(RlimitFsize, old), "setrlimit");
    }

    private sealed class Watcher : IDisposable
    {
        private readonly ManualResetEventSlim _stop = new();
        private readonly Thread _thread;
        private IDisposable? _limit;
        private Exception? _failure;

        public Watcher(string path, long bytes)
        {
            _thread = new Thread(() =>
            {
                try
                {
                    // Polled rather than watched with inotify: a rename into place from a sibling is seen either way, and a
                    // millisecond's delay only lets the command write a little more before the disk "fills".
                    var (parent, pattern) = (Path.GetDirectoryName(path)!, Path.GetFileName(path));
                    while (!Directory.Exists(parent) || !Directory.EnumerateFileSystemEntries(parent, pattern).Any())
                    {
                        if (_stop.Wait(1))
                        {
                            return;
                        }
                    }
                    _limit = Set(bytes);
                }
                catch (Exception e)
                {
                    _failure = e;
                }
            }) { IsBackground = true, Name = "file size limit watcher" };
            _thread.Start();
        }

        public void Dispose()
        {
            _stop.Set();
            _thread.Join();
            _stop.Dispose();
            _limit?.Dispose();
            if (_failure is not null)
            {
                throw new InvalidOperationException("the file size limit could not be set", _failure);
            }
        }
    }
}
