using System.Net;
using BertSharp.Cli.Commands;
using BertSharp.Server;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace BertSharp.Tests.Server;

/// <summary>
/// <c>bert serve --host</c>: Kestrel binds a URL with a host name to every interface, so a name must be resolved and exactly
/// its addresses bound (or refused), never widened to <c>[::]</c>.
/// </summary>
public sealed class ServeAddressTests
{
    [Fact]
    public void Ip_literals_and_localhost_pass_and_a_name_binds_exactly_its_addresses()
    {
        Assert.Equal(["http://127.0.0.1:8080"], ServeAddresses.Urls("127.0.0.1", 8080));
        Assert.Equal(["http://[::1]:8080"], ServeAddresses.Urls("::1", 8080));
        Assert.Equal(["http://[::1]:8080"], ServeAddresses.Urls("[::1]", 8080));
        Assert.Equal(["http://0.0.0.0:8080"], ServeAddresses.Urls("0.0.0.0", 8080));
        Assert.Equal(["http://localhost:8080"], ServeAddresses.Urls("localhost", 8080));

        IPAddress[] Box(string name) => name == "box.test"
            ? [IPAddress.Parse("10.1.2.3"), IPAddress.Parse("fd00::7"), IPAddress.Parse("10.1.2.3")]
            : throw new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.HostNotFound);
        Assert.Equal(["http://10.1.2.3:8080", "http://[fd00::7]:8080"], ServeAddresses.Urls("box.test", 8080, Box));
        // A free port is chosen per address: several addresses cannot share port 0.
        var zero = Assert.Throws<BertSharpException>(() => ServeAddresses.Urls("box.test", 0, Box));
        Assert.StartsWith("--port 0 (any free port) needs a single address, and --host box.test resolves to 2", zero.Message, StringComparison.Ordinal);
        Assert.Throws<BertSharpException>(() => ServeAddresses.Urls("localhost", 0));
    }

    [Fact]
    public void A_name_that_does_not_resolve_is_refused_in_one_line_before_the_model_loads()
    {
        // .invalid never resolves (RFC 6761).
        var e = Assert.Throws<BertSharpException>(() => ServeAddresses.Urls("nonsense.invalid", 8080));
        Assert.StartsWith("--host nonsense.invalid: expected an IP address (0.0.0.0 or :: for all interfaces), localhost, or a host name that resolves",
            e.Message, StringComparison.Ordinal);

        var r = CliRunner.Run("serve", "--model", HfFixture.Dir("sequence-classification"), "--host", "nonsense.invalid", "--port", "0");
        Assert.Equal(2, r.ExitCode);
        var line = Assert.Single(r.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: --host nonsense.invalid: expected an IP address", line, StringComparison.Ordinal);
        Assert.Equal("", r.StdOut);
    }

    [Fact]
    public async Task A_resolved_name_binds_only_its_address_not_every_interface()
    {
        var urls = ServeAddresses.Urls("box.test", 0, _ => [IPAddress.Loopback]);
        var options = new ServerOptions { ModelDirectory = HfFixture.Dir("sequence-classification"), Device = "cpu" };
        await using var app = BertServer.Build(options, b => b.Logging.ClearProviders());
        foreach (var url in urls)
        {
            app.Urls.Add(url);
        }
        await app.StartAsync();
        try
        {
            var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
            var address = Assert.Single(bound);
            Assert.StartsWith("http://127.0.0.1:", address, StringComparison.Ordinal);
        }
        finally
        {
            await app.StopAsync();
        }
    }
}
