using System.Net;
using System.Net.Sockets;
using BertSharp.Server;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;

namespace BertSharp.Tests.Server;

/// <summary><c>bert serve</c> start-up failures are one line on stderr with exit code 2, never a stack trace or exit 70.</summary>
public sealed class ServeStartupErrorTests
{
    private static readonly string Model = HfFixture.Dir("sequence-classification");

    [Theory]
    [InlineData("--port", "-1", "error: --port -1: expected a port from 0 to 65535 (0: any free port).")]
    [InlineData("--port", "70000", "error: --port 70000: expected a port from 0 to 65535 (0: any free port).")]
    [InlineData("--batch-window-ms", "-1", "error: --batch-window-ms -1: expected a number of milliseconds ≥ 0 (at most a day).")]
    [InlineData("--batch-window-ms", "NaN", "error: --batch-window-ms NaN: expected a number of milliseconds ≥ 0 (at most a day).")]
    [InlineData("--timeout", "-2", "error: --timeout -2: expected a number of seconds > 0 (at most a day).")]
    [InlineData("--timeout", "1e300", "error: --timeout 1E+300: expected a number of seconds > 0 (at most a day).")]
    [InlineData("--max-fill-mask-candidates", "0", "error: --max-fill-mask-candidates 0: expected at least 1.")]
    [InlineData("--max-fill-mask-candidates", "-5", "error: --max-fill-mask-candidates -5: expected at least 1.")]
    [InlineData("--max-batch", "0", "error: --max-batch 0: expected at least 1.")]
    [InlineData("--max-queue", "-1", "error: --max-queue -1: expected at least 1.")]
    [InlineData("--max-body-bytes", "1023", "error: --max-body-bytes 1023: expected at least 1024.")]
    [InlineData("--max-length", "7", "error: --max-length 7: expected at least 8.")]
    [InlineData("--max-texts-per-request", "0", "error: --max-texts-per-request 0: expected at least 1.")]
    [InlineData("--max-zero-shot-pairs", "0", "error: --max-zero-shot-pairs 0: expected at least 1.")]
    [InlineData("--max-attention-length", "2", "error: --max-attention-length 2: expected at least 3.")]
    [InlineData("--max-context-windows", "0", "error: --max-context-windows 0: expected at least 1.")]
    public void Out_of_range_numbers_are_one_line_bad_input(string flag, string value, string expected)
    {
        var r = CliRunner.Run("serve", "--model", Model, "--host", "127.0.0.1", flag, value);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal(expected, r.StdErr.TrimEnd());
        Assert.Equal("", r.StdOut);
    }

    [Fact]
    public void A_port_in_use_is_one_line_without_the_hosts_stack_trace()
    {
        using var busy = new TcpListener(IPAddress.Loopback, 0);
        busy.Start();
        var port = ((IPEndPoint)busy.LocalEndpoint).Port;
        var r = CliRunner.Run("serve", "--model", Model, "--host", "127.0.0.1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--device", "cpu");
        Assert.Equal(2, r.ExitCode);
        Assert.Equal($"error: Failed to bind to address http://127.0.0.1:{port}: address already in use.", r.StdErr.TrimEnd());
        Assert.DoesNotContain("fail:", r.StdOut, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", r.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public void The_library_refuses_a_negative_batch_window()
    {
        var e = Assert.Throws<BertSharpException>(() =>
            new ServerOptions { ModelDirectory = Model, BatchWindow = TimeSpan.FromMilliseconds(-1) }.Validate());
        Assert.Equal("batch_window_ms -1: expected a number of milliseconds ≥ 0 (at most a day).", e.Message);
    }
}
