using BertSharp.Checkpoints;

namespace BertSharp.Cli.Commands;

/// <summary>A one-line, self-overwriting progress display on stderr for interactive terminals.</summary>
internal sealed class DownloadProgress(TextWriter error) : IProgress<HubDownloadProgress>
{
    // The writer is the console's stderr; a test gives its own rather than swap the process-wide one.
    public static IProgress<HubDownloadProgress>? ForConsole() => Console.IsErrorRedirected ? null : new DownloadProgress(Console.Error);

    public void Report(HubDownloadProgress value)
    {
        var pct = value.Total is > 0 and var t ? $"{100.0 * value.Bytes / t,5:0.0}%" : "";
        var done = value.Total is { } total && value.Bytes >= total;
        // The file names come from the repository's listing: shown as data, an escape in one drove the terminal.
        error.Write($"\r{CliErrors.Shown(value.File)}  {value.Bytes / 1048576.0,8:0.0} MB {pct}".PadRight(72) + (done ? "\r".PadRight(73) + "\r" : ""));
    }
}
