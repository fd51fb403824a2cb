namespace BertSharp.Tests.Infrastructure;

public sealed class ThreadCpuTimeTests
{
    [Fact]
    public void Time_the_thread_spends_off_the_cpu_is_not_counted()
    {
        // A sleep stands in for a thread waiting for a core or for the GC; the wall clock counted it in full.
        Assert.True(ThreadCpuTime.Of(() => Thread.Sleep(200)) < TimeSpan.FromMilliseconds(100));
        var sum = 0L;
        var work = ThreadCpuTime.Of(() =>
        {
            for (var i = 0; i < 20_000_000; i++)
            {
                sum += i ^ (sum >> 3);
            }
        });
        Assert.True(work > TimeSpan.Zero, $"{work} for work that gave {sum}");
    }
}
