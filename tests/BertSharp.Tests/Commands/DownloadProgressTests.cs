using BertSharp.Checkpoints;
using BertSharp.Cli.Commands;

namespace BertSharp.Tests.Commands;

/// <summary><c>bert download</c>'s progress line on a terminal.</summary>
public class DownloadProgressTests
{
    // A file name from a repository's listing is data: its escape drove the terminal, its line break left the line.
    [Fact]
    public void A_file_name_is_shown_as_data_on_the_progress_line()
    {
        using var err = new StringWriter();
        new DownloadProgress(err).Report(new HubDownloadProgress("m\u001b[31m\nodel.safetensors", 1048576, 2097152));
        Assert.Equal("\rm\\x1b[31m odel.safetensors       1.0 MB  50.0%".PadRight(72), err.ToString());
    }
}
