using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace BertSharp.Tests.Checkpoints.Hub;

/// <summary>
/// A real HTTP/1.1 server on 127.0.0.1 that answers like the HuggingFace Hub: <c>/{repo}/resolve/{rev}/{file}</c> with
/// <c>X-Repo-Commit</c> and <c>ETag</c> (git blob sha1) for small files; for LFS files a 302 to a CDN (a second port)
/// carrying <c>X-Linked-Etag</c> (sha256) and <c>X-Linked-Size</c>; the CDN honours <c>Range: bytes=N-</c>.
/// Errors carry <c>X-Error-Code</c> (RepoNotFound → 401, RevisionNotFound / EntryNotFound → 404) as the Hub does.
/// Faults for tests: drop a CDN connection after N bytes, serve corrupted LFS bytes.
/// </summary>
internal sealed partial class FakeHub : IDisposable
{
    public sealed record Request(string Method, int Port, string Path, string? Range, string? Authorization)
    {
        /// <summary>The request's body (uploads), read by its Content-Length.</summary>
        public byte[] Body { get; init; } = [];

        public string? ContentType { get; init; }

        public string? Accept { get; init; }
    }

    private sealed record HubEntry(byte[] Content, bool Lfs);

    private readonly TcpListener _hub = new(IPAddress.Loopback, 0);
    private readonly TcpListener _cdn = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Dictionary<string, (string Commit, Dictionary<string, HubEntry> Files)> _repos = new(StringComparer.Ordinal);
    private readonly Dictionary<string, byte[]> _lfs = new(StringComparer.Ordinal);

    public FakeHub()
    {
        _hub.Start();
        _cdn.Start();
        _ = AcceptLoop(_hub);
        _ = AcceptLoop(_cdn);
    }

    public string Endpoint => $"http://127.0.0.1:{HubPort}";

    public int HubPort => ((IPEndPoint)_hub.LocalEndpoint).Port;

    public int CdnPort => ((IPEndPoint)_cdn.LocalEndpoint).Port;

    public ConcurrentQueue<Request> Requests { get; } = new();

    /// <summary>The next CDN GET sends its headers (full length) and only this many body bytes, then drops the connection.</summary>
    public int? DropNextCdnGetAfter { get; set; }

    /// <summary>The next CDN GET sends this many body bytes, then goes silent (until the server is disposed).</summary>
    public int? StallNextCdnGetAfter { get; set; }

    /// <summary>When set, the Hub answers no HEAD request: it reads it, then stays silent (until the server is disposed).</summary>
    public bool StallHeads { get; set; }

    /// <summary>When set, LFS redirects point here instead of the CDN (e.g. a <c>file://</c> URL, which must be refused).</summary>
    public string? LfsLocationOverride { get; set; }

    /// <summary>Renamed repos: old id → new id, answered with a relative 307 as the Hub does.</summary>
    public Dictionary<string, string> Renamed { get; } = new(StringComparer.Ordinal);

    /// <summary>Added to the size the Hub announces for LFS files (X-Linked-Size), which the CDN then does not have.</summary>
    public int AnnouncedSizeExtra { get; set; }

    /// <summary>When set, the Hub answers every request with this status (a server error, an outage).</summary>
    public int? HubStatus { get; set; }

    /// <summary>Headers sent with <see cref="HubStatus"/> (an <c>X-Error-Code</c>).</summary>
    public (string Name, string Value)[] HubStatusHeaders { get; set; } = [];

    /// <summary>When set, the Hub sends this as X-Repo-Commit instead of the repo's commit.</summary>
    public string? CommitOverride { get; set; }

    /// <summary>When set, the CDN answers every GET with this status.</summary>
    public int? CdnStatus { get; set; }

    /// <summary>The CDN answers a Range request with 206 and the whole file, its Content-Range starting at byte 0.</summary>
    public bool ResumeFromStart { get; set; }

    /// <summary>The Hub's LFS redirect sends neither X-Linked-Size nor Content-Length, so the client knows no size.</summary>
    public bool AnnounceNoSize { get; set; }

    /// <summary>Every CDN GET of <c>/repos/{sha}</c> is a relative 302 to <c>/signed/{sha}</c>, as a CDN signing its URLs does.</summary>
    public bool CdnRedirect { get; set; }

    /// <summary>The CDN ignores Range and sends the whole file with 200, as some servers do.</summary>
    public bool IgnoreRange { get; set; }

    /// <summary>LFS files whose bytes are served with one byte flipped (the announced sha256 stays the true one).</summary>
    public HashSet<string> Corrupt { get; } = new(StringComparer.Ordinal);

    public static string Sha256(byte[] b) => Convert.ToHexStringLower(SHA256.HashData(b));

    /// <summary>git's blob id, the ETag the Hub sends for files stored in git.</summary>
    public static string GitSha1(byte[] b) =>
        Convert.ToHexStringLower(SHA1.HashData([.. Encoding.ASCII.GetBytes($"blob {b.Length}\0"), .. b]));

    public string AddRepo(string repoId, params (string Name, byte[] Content, bool Lfs)[] files)
    {
        var commit = GitSha1(Encoding.UTF8.GetBytes(repoId + string.Join(",", files.Select(f => f.Name))));
        var map = new Dictionary<string, HubEntry>(StringComparer.Ordinal);
        foreach (var (name, content, lfs) in files)
        {
            map[name] = new HubEntry(content, lfs);
            if (lfs)
            {
                _lfs[Sha256(content)] = content;
            }
        }
        _repos[repoId] = (commit, map);
        return commit;
    }

    public int Count(string method, string pathContains) =>
        Requests.Count(r => r.Method == method && r.Path.Contains(pathContains, StringComparison.Ordinal));

    private async Task AcceptLoop(TcpListener listener)
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception)
            {
                return;
            }
            _ = Task.Run(() => Serve(client, ((IPEndPoint)listener.LocalEndpoint).Port));
        }
    }

    private async Task Serve(TcpClient client, int port)
    {
        using (client)
        {
            var stream = client.GetStream();
            var head = await ReadHead(stream);
            if (head is null)
            {
                return;
            }
            var lines = head.Split("\r\n");
            var parts = lines[0].Split(' ');
            var headers = lines.Skip(1).Where(l => l.Contains(':', StringComparison.Ordinal))
                .ToDictionary(l => l[..l.IndexOf(':', StringComparison.Ordinal)].Trim(), l => l[(l.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim(), StringComparer.OrdinalIgnoreCase);
            var body = await ReadBody(stream, headers);
            var req = new Request(parts[0], port, parts[1], headers.GetValueOrDefault("Range"), headers.GetValueOrDefault("Authorization"))
            {
                Body = body, ContentType = headers.GetValueOrDefault("Content-Type"), Accept = headers.GetValueOrDefault("Accept"),
            };
            Requests.Enqueue(req);
            try
            {
                bool upload = (req.Method is "POST" or "PUT" || (req.Method == "GET" && req.Path.StartsWith("/api/models/", StringComparison.Ordinal)))
                    && await ServeUpload(stream, req, port == CdnPort);
                if (upload)
                {
                    return;
                }
                if (port == CdnPort)
                {
                    await ServeCdn(stream, client, req);
                }
                else
                {
                    await ServeHub(stream, req);
                }
            }
            catch (IOException)
            {
            }
        }
    }

    private async Task ServeHub(NetworkStream stream, Request req)
    {
        if (StallHeads && req.Method == "HEAD")
        {
            try
            {
                await Task.Delay(Timeout.Infinite, _stop.Token);
            }
            catch (OperationCanceledException)
            {
            }
            return;
        }
        if (HubStatus is { } status)
        {
            await Respond(stream, req, status, HubStatusHeaders, []);
            return;
        }
        int at = req.Path.IndexOf("/resolve/", StringComparison.Ordinal);
        if (at < 0)
        {
            await Respond(stream, req, 404, [], []);
            return;
        }
        var repoId = req.Path[1..at];
        var rest = req.Path[(at + "/resolve/".Length)..].Split('/', 2);
        var revision = Uri.UnescapeDataString(rest[0]);
        var file = Uri.UnescapeDataString(rest.Length > 1 ? rest[1] : "");
        if (Renamed.TryGetValue(repoId, out var newId))
        {
            await Respond(stream, req, 307, [("Location", "/" + newId + req.Path[at..])], []);
            return;
        }
        if (!_repos.TryGetValue(repoId, out var repo))
        {
            await Respond(stream, req, 401, [("X-Error-Code", "RepoNotFound"), ("X-Error-Message", "Repository not found")], []);
            return;
        }
        if (revision != "main" && revision != repo.Commit)
        {
            await Respond(stream, req, 404, [("X-Error-Code", "RevisionNotFound")], []);
            return;
        }
        if (!repo.Files.TryGetValue(file, out var entry))
        {
            await Respond(stream, req, 404, [("X-Error-Code", "EntryNotFound"), ("X-Repo-Commit", CommitOverride ?? repo.Commit)], []);
            return;
        }
        if (entry.Lfs)
        {
            var sha = Sha256(entry.Content);
            (string, string)[] redirect =
            [
                ("Location", LfsLocationOverride ?? $"http://127.0.0.1:{CdnPort}/repos/{sha}?download=true"),
                ("X-Repo-Commit", CommitOverride ?? repo.Commit), ("X-Linked-Etag", $"\"{sha}\""), ("ETag", $"W/\"{GitSha1(entry.Content)}\""),
            ];
            if (AnnounceNoSize)
            {
                await WriteHead(stream, 302, redirect, length: null);
                await stream.FlushAsync();
                return;
            }
            await Respond(stream, req, 302, [.. redirect, ("X-Linked-Size", (entry.Content.Length + AnnouncedSizeExtra).ToString(System.Globalization.CultureInfo.InvariantCulture))], []);
            return;
        }
        await Respond(stream, req, 200, [("X-Repo-Commit", CommitOverride ?? repo.Commit), ("ETag", $"\"{GitSha1(entry.Content)}\"")], entry.Content);
    }

    private async Task ServeCdn(NetworkStream stream, TcpClient client, Request req)
    {
        var sha = req.Path.Split('/', '?')[2];
        if (!_lfs.TryGetValue(sha, out var content))
        {
            await Respond(stream, req, 404, [], []);
            return;
        }
        if (req.Method == "GET" && CdnRedirect && req.Path.StartsWith("/repos/", StringComparison.Ordinal))
        {
            await Respond(stream, req, 302, [("Location", "/signed/" + sha)], []);
            return;
        }
        if (req.Method == "GET" && CdnStatus is { } status)
        {
            await Respond(stream, req, status, [], []);
            return;
        }
        if (Corrupt.Contains(sha))
        {
            content = (byte[])content.Clone();
            content[content.Length / 2] ^= 0xFF;
        }
        long start = 0;
        if (!IgnoreRange && req.Range is { } range && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
        {
            start = long.Parse(range[6..^1], System.Globalization.CultureInfo.InvariantCulture);
            if (start >= content.Length)
            {
                await Respond(stream, req, 416, [("Content-Range", $"bytes */{content.Length}")], []);
                return;
            }
        }
        if (ResumeFromStart)
        {
            start = 0;
        }
        var body = content[(int)start..];
        (string, string)[] extra = req.Range is null || IgnoreRange ? [] : [("Content-Range", $"bytes {start}-{content.Length - 1}/{content.Length}")];
        if (req.Method == "GET" && DropNextCdnGetAfter is { } drop)
        {
            DropNextCdnGetAfter = null;
            await WriteHead(stream, req.Range is null ? 200 : 206, extra, body.Length);
            await stream.WriteAsync(body.AsMemory(0, Math.Min(drop, body.Length)));
            await stream.FlushAsync();
            client.Client.LingerState = new LingerOption(true, 0);
            client.Client.Close(); // RST mid-body
            return;
        }
        if (req.Method == "GET" && StallNextCdnGetAfter is { } stall)
        {
            StallNextCdnGetAfter = null;
            await WriteHead(stream, req.Range is null ? 200 : 206, extra, body.Length);
            await stream.WriteAsync(body.AsMemory(0, Math.Min(stall, body.Length)));
            await stream.FlushAsync();
            try
            {
                await Task.Delay(Timeout.Infinite, _stop.Token);
            }
            catch (OperationCanceledException)
            {
            }
            return;
        }
        await Respond(stream, req, req.Range is null || IgnoreRange ? 200 : 206, extra, body);
    }

    private static async Task Respond(Stream stream, Request req, int status, (string, string)[] headers, byte[] body)
    {
        await WriteHead(stream, status, headers, body.Length);
        if (req.Method != "HEAD")
        {
            await stream.WriteAsync(body);
        }
        await stream.FlushAsync();
    }

    // A null length sends no Content-Length: the body then ends with the connection, and a HEAD answer announces no size.
    private static async Task WriteHead(Stream stream, int status, (string, string)[] headers, long? length)
    {
        var sb = new StringBuilder($"HTTP/1.1 {status} {(HttpStatusCode)status}\r\n");
        foreach (var (k, v) in headers)
        {
            sb.Append(k).Append(": ").Append(v).Append("\r\n");
        }
        if (length is not null)
        {
            sb.Append("Content-Length: ").Append(length).Append("\r\n");
        }
        sb.Append("Connection: close\r\n\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(sb.ToString()));
    }

    private static async Task<string?> ReadHead(NetworkStream stream)
    {
        var buf = new List<byte>();
        var one = new byte[1];
        while (buf.Count < 65536)
        {
            if (await stream.ReadAsync(one) == 0)
            {
                return null;
            }
            buf.Add(one[0]);
            if (buf.Count >= 4 && buf[^1] == '\n' && buf[^2] == '\r' && buf[^3] == '\n' && buf[^4] == '\r')
            {
                return Encoding.ASCII.GetString([.. buf]);
            }
        }
        return null;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _hub.Stop();
        _cdn.Stop();
        _stop.Dispose();
    }
}
