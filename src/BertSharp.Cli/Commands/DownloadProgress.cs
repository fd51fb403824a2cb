using BertSharp.Checkpoints;

namespace BertSharp.Cli.Commands;

/// <summary>A one-line, self-overwriting progress display on stderr for interactive terminals.</summary>
internal sealed class DownloadProgress : IProgress<HubDownloadProgress>
{
    public static IProgress<HubDownloadProgress>? ForConsole() => Console.IsErrorRedirected ? null : new DownloadProgress();

    public void Report(HubDownloadProgress value)
    {
        var pct = value.Total is > 0 and var t ? $"{100.0 * value.Bytes / t,5:0.0}%" : "";
        var done = value.Total is { } total && value.Bytes >= total;
        Console.Error.Write($"\r{value.File}  {value.Bytes / 1048576.0,8:0.0} MB {pct}".PadRight(72) + (done ? "\r".PadRight(73) + "\r" : ""));
    }
}
