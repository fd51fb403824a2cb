using Spectre.Console;

namespace BertSharp.Cli.Commands;

/// <summary>
/// Progress for long commands on stderr: a live Spectre bar per phase on a terminal, a few plain lines otherwise (logs,
/// tests), so stdout keeps only the command's results.
/// </summary>
internal static class CliProgress
{
    /// <summary>Runs <paramref name="work"/>, rendering the (phase, done, total) reports it makes from any thread.</summary>
    public static T Run<T>(Func<IProgress<(string Phase, long Done, long Total, string? Note)>, T> work)
    {
        if (Console.IsErrorRedirected || Environment.GetEnvironmentVariable("BERTSHARP_NO_PROGRESS") == "1")
        {
            return work(new PlainProgress());
        }
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        T result = default!;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var left = new System.Collections.Concurrent.ConcurrentDictionary<int, ReportedRemainingTime>();
        console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(),
                new ReportedRemainingTime.Column(t => left.TryGetValue(t.Id, out var l) ? l.Left((long)t.MaxValue) : null))
            .Start(ctx =>
            {
                var tasks = new Dictionary<string, ProgressTask>(StringComparer.Ordinal);
                var gate = new object();
                result = work(new Progress(r =>
                {
                    lock (gate)
                    {
                        if (!tasks.TryGetValue(r.Phase, out var task))
                        {
                            task = tasks[r.Phase] = ctx.AddTask(Markup.Escape(r.Phase), maxValue: Math.Max(1, r.Total));
                        }
                        task.MaxValue = Math.Max(1, r.Total);
                        task.Value = r.Done;
                        left.GetOrAdd(task.Id, _ => new ReportedRemainingTime()).Report(r.Done, clock.Elapsed);
                        task.Description = Markup.Escape(r.Note is null ? r.Phase : $"{r.Phase} {r.Note}");
                    }
                }));
            });
        return result;
    }

    private sealed class Progress(Action<(string Phase, long Done, long Total, string? Note)> report)
        : IProgress<(string Phase, long Done, long Total, string? Note)>
    {
        public void Report((string Phase, long Done, long Total, string? Note) value) => report(value);
    }

    // Without a terminal: one line each time a phase passes another 10 %.
    private sealed class PlainProgress : IProgress<(string Phase, long Done, long Total, string? Note)>
    {
        private readonly Dictionary<string, long> _lastDecile = new(StringComparer.Ordinal);
        private readonly object _gate = new();

        public void Report((string Phase, long Done, long Total, string? Note) value)
        {
            var decile = value.Total <= 0 ? 10 : value.Done * 10 / value.Total;
            lock (_gate)
            {
                if (_lastDecile.TryGetValue(value.Phase, out var last) && last >= decile)
                {
                    return;
                }
                _lastDecile[value.Phase] = decile;
                Console.Error.WriteLine($"{value.Phase}: {value.Done}/{value.Total}{(value.Note is null ? "" : " " + value.Note)}");
            }
        }
    }
}
