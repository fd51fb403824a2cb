using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace BertSharp.Cli.Commands;

/// <summary>
/// The URLs <c>bert serve --host H --port P</c> listens on. Kestrel binds a URL whose host is neither an IP address nor
/// <c>localhost</c> to every interface, so a machine name (or a typo) would silently expose the server to the whole network.
/// A name is therefore resolved here, once at start-up, and exactly its addresses are bound — what <c>--host NAME</c> asks
/// for, as nginx's <c>listen NAME</c> does — and a name that does not resolve is refused.
/// </summary>
internal static class ServeAddresses
{
    /// <param name="host">The <c>--host</c> value: an IP address (bracketed or not for IPv6), localhost, * or +, or a host name.</param>
    /// <param name="port">The <c>--port</c> value (0: any free port).</param>
    /// <param name="resolve">The name resolver (tests replace DNS).</param>
    public static IReadOnlyList<string> Urls(string host, int port, Func<string, IPAddress[]>? resolve = null)
    {
        ArgumentNullException.ThrowIfNull(host);
        if (port is < 0 or > IPEndPoint.MaxPort)
        {
            throw new BertSharpException($"--port {port}: expected a port from 0 to {IPEndPoint.MaxPort} (0: any free port).");
        }
        var name = host.Trim();
        var p = port.ToString(CultureInfo.InvariantCulture);
        // Explicit wildcards: the user asked for every interface; Kestrel binds [::] (dual mode), or 0.0.0.0 without IPv6.
        if (name is "*" or "+")
        {
            return [$"http://{name}:{p}"];
        }
        if (string.Equals(name, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            // Kestrel binds 127.0.0.1 and ::1 for localhost, and cannot give both the same free port.
            if (port == 0)
            {
                throw new BertSharpException(
                    "--port 0 (any free port) needs a single address, and --host localhost is two (127.0.0.1 and ::1); give --host 127.0.0.1 or --host ::1.");
            }
            return [$"http://localhost:{p}"];
        }
        var literal = name.StartsWith('[') && name.EndsWith(']') ? name[1..^1] : name;
        if (IPAddress.TryParse(literal, out var ip))
        {
            return [Url(ip, p)];
        }
        IPAddress[] addresses;
        try
        {
            addresses = (resolve ?? Dns.GetHostAddresses)(name);
        }
        catch (Exception e) when (e is SocketException or ArgumentException)
        {
            throw new BertSharpException(
                $"--host {host}: expected an IP address (0.0.0.0 or :: for all interfaces), localhost, or a host name that resolves; this name does not ({e.Message}).");
        }
        var distinct = addresses.Distinct().ToList();
        if (distinct.Count == 0)
        {
            throw new BertSharpException($"--host {host}: the name resolves to no address; expected an IP address, localhost, or a host name that resolves.");
        }
        if (port == 0 && distinct.Count > 1)
        {
            throw new BertSharpException(
                $"--port 0 (any free port) needs a single address, and --host {host} resolves to {distinct.Count} ({string.Join(", ", distinct)}); give one of them as --host.");
        }
        return [.. distinct.Select(a => Url(a, p))];
    }

    private static string Url(IPAddress address, string port) =>
        address.AddressFamily == AddressFamily.InterNetworkV6 ? $"http://[{address}]:{port}" : $"http://{address}:{port}";
}
