using Spectre.Console;
using Spectre.Console.Rendering;

namespace BertSharp.Cli.Commands;

/// <summary>
/// The time left of one progress phase, from the work done between this process's first report and its latest. Spectre's
/// <see cref="RemainingTimeColumn"/> takes its speed from each change of the bar's value, so a resumed run's first report
/// (from 0 to step N) counted N steps as done in no time, and its estimate was far too short for its first half-minute.
/// </summary>
internal sealed class ReportedRemainingTime
{
    private readonly object _gate = new();
    private (long Done, TimeSpan At)? _first;
    private (long Done, TimeSpan At) _latest;

    /// <summary>Records that <paramref name="done"/> units were done at <paramref name="at"/> (a clock's elapsed time).</summary>
    public void Report(long done, TimeSpan at)
    {
        lock (_gate)
        {
            _first ??= (done, at);
            // Reports from parallel workers can arrive out of order; a smaller count is no news.
            if (done >= _latest.Done)
            {
                _latest = (done, at);
            }
        }
    }

    /// <summary>The time the rest of <paramref name="total"/> takes at the pace since the first report; null before any pace is known.</summary>
    public TimeSpan? Left(long total)
    {
        lock (_gate)
        {
            if (_first is not { } first || _latest.Done <= first.Done || _latest.At <= first.At)
            {
                return null;
            }
            var secondsPerUnit = (_latest.At - first.At).TotalSeconds / (_latest.Done - first.Done);
            return TimeSpan.FromSeconds(Math.Max(0, total - _latest.Done) * secondsPerUnit);
        }
    }

    /// <summary>A progress column showing each task's <see cref="Left"/> as Spectre's remaining-time column does.</summary>
    public sealed class Column(Func<ProgressTask, TimeSpan?> left) : ProgressColumn
    {
        protected override bool NoWrap => true;

        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime)
        {
            ArgumentNullException.ThrowIfNull(task);
            var remaining = task.IsFinished ? TimeSpan.Zero : left(task);
            return remaining is null ? new Text(Shown(remaining)) : new Text(Shown(remaining), new Style(Color.Blue));
        }

        /// <summary>
        /// The column's text: <c>--:--:--</c> before a pace is known, <c>**:**:**</c> from 100 hours on (wider than the column),
        /// else the fine-tuning lines' clock (<see cref="FinetuneProgressView.Elapsed"/>).
        /// </summary>
        // Spectre's own column writes hh, the hours past the days: 30 hours left read 06:00:00.
        internal static string Shown(TimeSpan? remaining) => remaining switch
        {
            null => "--:--:--",
            { TotalHours: >= 100 } => "**:**:**",
            { } r => FinetuneProgressView.Elapsed(r),
        };

        public override int? GetColumnWidth(RenderOptions options) => 8;
    }
}
