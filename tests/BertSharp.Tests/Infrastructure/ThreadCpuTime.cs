using System.Diagnostics;
using System.Runtime.InteropServices;

namespace BertSharp.Tests.Infrastructure;

/// <summary>
/// The CPU time the calling thread spends in an action: a bound on it tests an algorithm's cost, where a bound on wall-clock
/// time also counts the time the thread waited for a core or for the GC (two test processes and MPI ranks share two vCPUs).
/// </summary>
internal static class ThreadCpuTime
{
    private const int ClockThreadCpuTimeId = 3;

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [DllImport("libc", EntryPoint = "clock_gettime", SetLastError = true)]
    private static extern int ClockGetTime(int clock, out TimeSpec time);

    /// <summary>The calling thread's CPU time running <paramref name="action"/> (wall-clock time where the thread's own clock is not available).</summary>
    public static TimeSpan Of(Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        if (!OperatingSystem.IsLinux())
        {
            var watch = Stopwatch.StartNew();
            action();
            return watch.Elapsed;
        }
        var before = Now();
        action();
        return Now() - before;
    }

    private static TimeSpan Now()
    {
        if (ClockGetTime(ClockThreadCpuTimeId, out var t) != 0)
        {
            throw new InvalidOperationException($"clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed: errno {Marshal.GetLastPInvokeError()}");
        }
        return TimeSpan.FromTicks((t.Seconds * TimeSpan.TicksPerSecond) + (t.Nanoseconds / 100));
    }
}
