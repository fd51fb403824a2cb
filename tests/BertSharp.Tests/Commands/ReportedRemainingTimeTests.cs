using BertSharp.Cli.Commands;

namespace BertSharp.Tests.Commands;

/// <summary>The time-remaining estimate of the progress bars long commands show on a terminal.</summary>
public class ReportedRemainingTimeTests
{
    [Fact]
    public void A_resumed_run_is_timed_by_the_steps_this_process_ran()
    {
        // Resumed at step 30 of 100, then 2 s a step: the 30 steps before were not done in no time (the bar jumped from 0
        // to 30), and the first report alone gives no pace.
        var left = new ReportedRemainingTime();
        left.Report(31, TimeSpan.FromSeconds(5));
        Assert.Null(left.Left(100));
        left.Report(32, TimeSpan.FromSeconds(7));
        left.Report(33, TimeSpan.FromSeconds(9));
        Assert.Equal(TimeSpan.FromSeconds(67 * 2), left.Left(100));
        // A parallel worker's late report of fewer units done leaves the estimate as it was.
        left.Report(32, TimeSpan.FromSeconds(10));
        Assert.Equal(TimeSpan.FromSeconds(67 * 2), left.Left(100));
        left.Report(100, TimeSpan.FromSeconds(143));
        Assert.Equal(TimeSpan.Zero, left.Left(100));
    }

    [Fact]
    public void The_column_shows_the_hours_whole_up_to_99()
    {
        // A long pre-training run has days left: TimeSpan's hh (hours past the days) showed 30 hours as 06:00:00.
        Assert.Equal("30:00:05", ReportedRemainingTime.Column.Shown(new TimeSpan(1, 6, 0, 5)));
        Assert.Equal("99:59:59", ReportedRemainingTime.Column.Shown(TimeSpan.FromHours(100) - TimeSpan.FromSeconds(1)));
        Assert.Equal("**:**:**", ReportedRemainingTime.Column.Shown(TimeSpan.FromHours(100)));
        Assert.Equal("1:01:07", ReportedRemainingTime.Column.Shown(TimeSpan.FromSeconds(3667)));
        Assert.Equal("1:07", ReportedRemainingTime.Column.Shown(TimeSpan.FromSeconds(67)));
        Assert.Equal("--:--:--", ReportedRemainingTime.Column.Shown(null));
    }
}
