using System.Diagnostics;
using System.Globalization;

namespace BertSharp.Tests.Infrastructure;

public sealed class ThreadCpuTimeTests
{
    [Fact]
    public void Only_the_calling_threads_time_on_the_cpu_is_counted()
    {
        // While the measured thread waits (as for a core or for the GC), another thread works: a wall clock would count the
        // wait, a process clock the other thread's work; each would pass a bound that the thread's own clock is meant to keep.
        var target = TimeSpan.FromMilliseconds(100);
        var busy = TimeSpan.Zero;
        var busyWall = TimeSpan.Zero;
        var kernel = TimeSpan.Zero;
        // No spinning before it blocks (spinCount 0), and a thread started once before the count: the waiting thread's
        // own fixed costs (spin-waiting, the first Thread.Start's code) took 13 ms of a 40 ms window on a loaded machine.
        using var done = new ManualResetEventSlim(false, 0);
        var warmUp = new Thread(() => { });
        warmUp.Start();
        warmUp.Join();
        var worker = new Thread(() =>
        {
            // Once before the count starts: its first call compiles the parsing, which the helper's windows would not see.
            _ = OnCpu();
            var wall = Stopwatch.StartNew();
            var before = OnCpu();
            var sum = 0L;
            // Until the worker's own clock shows the target, bounded in case that clock never gets there.
            while (busy < target && wall.Elapsed < TimeSpan.FromSeconds(2))
            {
                busy += ThreadCpuTime.Of(() =>
                {
                    for (var i = 0; i < 200_000; i++)
                    {
                        sum += i ^ (sum >> 3);
                    }
                });
            }
            kernel = OnCpu() - before;
            busyWall = wall.Elapsed;
            done.Set();
            GC.KeepAlive(sum);
        });
        var waited = ThreadCpuTime.Of(() =>
        {
            worker.Start();
            done.Wait();
        });
        worker.Join();
        // A thread cannot be on the cpu for longer than it ran, and the scheduler's own count of it (read outside the
        // helper) agrees with the helper's: a clock read in another unit (nanoseconds taken as microseconds, say) breaks these.
        Assert.True(busy >= target, $"the worker's clock showed {busy} after {busyWall} of busy work");
        Assert.True(busy <= busyWall, $"the worker's clock showed {busy} for {busyWall} of wall time");
        // Within a factor of 2 and a scheduler tick (10 ms at most), by which the scheduler's count of a running thread lags.
        Assert.InRange(busy.TotalMilliseconds, (kernel.TotalMilliseconds / 2) - 10, (kernel.TotalMilliseconds * 2) + 10);
        Assert.True(waited < busy / 4, $"{waited} counted for a thread that waited while another worked {busy}");
    }

    // The first field of schedstat: the calling thread's time on the cpu in nanoseconds, as the scheduler counts it.
    private static TimeSpan OnCpu() =>
        TimeSpan.FromTicks(long.Parse(File.ReadAllText("/proc/thread-self/schedstat").Split(' ')[0], CultureInfo.InvariantCulture) / 100);
}
