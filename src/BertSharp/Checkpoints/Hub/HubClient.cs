using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using BertSharp.IO;

namespace BertSharp.Checkpoints;

/// <summary>
/// Downloads BERT models from the HuggingFace Hub into the huggingface_hub cache layout (<see cref="HubCache"/>): the
/// same HEAD/GET protocol (<c>X-Repo-Commit</c>, <c>ETag</c>/<c>X-Linked-Etag</c>, LFS redirects), resumable
/// downloads (<c>.incomplete</c> + HTTP Range), size and sha256 checks, atomic renames; and uploads a model directory as
/// one commit (<see cref="UploadFolder"/>). In offline mode no HTTP client is even created.
/// </summary>
public sealed partial class HubClient : IDisposable
{
    /// <summary>
    /// Tokenizer files, and the settings a BertSharp fine-tuning recorded (training_args.json: its length, truncation side,
    /// task), fetched when the repo has them: a model loaded by its id answers as from its directory.
    /// </summary>
    public static IReadOnlyList<string> OptionalFiles { get; } =
        ["vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", TrainingArgsFile.FileName];

    private const int MaxRedirects = 5;
    private readonly HubOptions _options;
    private readonly HttpClient? _http;

    /// <summary>
    /// A client with <paramref name="options"/> (null: the defaults, which follow <c>HF_ENDPOINT</c>,
    /// <c>HF_HUB_CACHE</c>, <c>HF_HUB_OFFLINE</c> and the other huggingface_hub variables). Online, it owns an
    /// <see cref="HttpClient"/>; dispose the client to release it.
    /// </summary>
    /// <exception cref="BertSharpException">
    /// Online, and the endpoint is not an absolute http(s) URL without query or fragment.
    /// </exception>
    public HubClient(HubOptions? options = null)
    {
        _options = options ?? new HubOptions();
        if (!_options.ResolvedOffline)
        {
            _options.CheckedEndpoint();
            var handler = new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                AutomaticDecompression = DecompressionMethods.None,
                ConnectTimeout = _options.ReadTimeout,
            };
            _http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
            _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("bertsharp", typeof(HubClient).Assembly.GetName().Version?.ToString() ?? "0"));
        }
    }

    /// <summary>The options this client runs with (the defaults when the constructor was given null).</summary>
    public HubOptions Options => _options;

    /// <summary>The cache of <paramref name="repoId"/> under this client's cache root.</summary>
    public HubCache Cache(string repoId) => new(_options.ResolvedCacheDir, repoId);

    /// <summary>
    /// The snapshot directory of a fully cached model (config.json and complete weights) for <paramref name="revision"/>,
    /// or null. Never touches the network.
    /// </summary>
    public string? FindCachedModel(string repoId, string? revision = null)
    {
        var cache = Cache(repoId);
        var commit = cache.ResolveCommit(HubCache.ValidateRevision(revision ?? _options.Revision));
        if (commit is null || cache.SnapshotFile(commit, "config.json") is null)
        {
            return null;
        }
        var dir = cache.SnapshotDir(commit);
        foreach (var name in StateDictSource.WeightFileNames)
        {
            var p = cache.SnapshotFile(commit, name);
            if (p is null)
            {
                continue;
            }
            if (!name.EndsWith(".index.json", StringComparison.Ordinal))
            {
                return dir;
            }
            try
            {
                if (ShardIndex.Read(p).Shards.All(s => cache.SnapshotFile(commit, s) is not null))
                {
                    return dir;
                }
            }
            catch (BertSharpException)
            {
            }
        }
        return null;
    }

    /// <summary>
    /// Makes sure config.json, the weights (model.safetensors, else its shard index and shards, else pytorch_model.bin),
    /// the <see cref="OptionalFiles"/> the repo has, and a sentence-transformers model's modules.json with each of its Pooling
    /// modules' config.json (<c>1_Pooling/config.json</c>) and its sentence_bert_config.json (when the repo has it) are in the cache for <paramref name="revision"/>, downloading what is missing.
    /// Offline, the cache alone answers.
    /// </summary>
    /// <exception cref="BertSharpException">
    /// Unknown repo or revision, no weights, network or integrity failure, a modules.json that is malformed or names a Pooling
    /// path outside the repo, or (offline) not cached.
    /// </exception>
    public HubDownloadResult DownloadModel(string repoId, string? revision = null, CancellationToken ct = default) =>
        DownloadModelAsync(repoId, revision, ct).GetAwaiter().GetResult();

    /// <inheritdoc cref="DownloadModel"/>
    public async Task<HubDownloadResult> DownloadModelAsync(string repoId, string? revision = null, CancellationToken ct = default)
    {
        var cache = Cache(repoId);
        revision = HubCache.ValidateRevision(revision ?? _options.Revision);
        if (_http is null)
        {
            return FromCacheOffline(cache, revision);
        }
        var made = NewDirectories.Before(Path.Combine(cache.RepoDir, "blobs"));
        try
        {
            return await DownloadOnlineAsync(cache, revision, ct).ConfigureAwait(false);
        }
        catch
        {
            made.RemoveEmpty();
            throw;
        }
    }

    private async Task<HubDownloadResult> DownloadOnlineAsync(HubCache cache, string revision, CancellationToken ct)
    {
        CreateCacheDir(cache);
        var files = new List<HubFile>();
        var config = await HeadAsync(cache.RepoId, revision, "config.json", ct).ConfigureAwait(false)
            ?? throw new BertSharpException($"{Describe(cache.RepoId, revision)} has no config.json: it is not a transformers model repository.");
        var commit = config.Commit;
        files.Add(await FetchAsync(cache, config, ct).ConfigureAwait(false));

        HubFileInfo? weights = null;
        foreach (var name in StateDictSource.WeightFileNames)
        {
            weights = await HeadAsync(cache.RepoId, commit, name, ct).ConfigureAwait(false);
            if (weights is not null)
            {
                break;
            }
        }
        if (weights is null)
        {
            throw new BertSharpException(
                $"{Describe(cache.RepoId, revision)} has no model weights (looked for {string.Join(", ", StateDictSource.WeightFileNames)}).");
        }
        var weightsFile = await FetchAsync(cache, weights, ct).ConfigureAwait(false);
        files.Add(weightsFile);
        if (weights.File.EndsWith(".index.json", StringComparison.Ordinal))
        {
            foreach (var shard in ShardIndex.Read(weightsFile.Path).Shards)
            {
                var info = await HeadAsync(cache.RepoId, commit, shard, ct).ConfigureAwait(false)
                    ?? throw new BertSharpException($"{Describe(cache.RepoId, revision)}: shard {shard} listed in {weights.File} does not exist.");
                files.Add(await FetchAsync(cache, info, ct).ConfigureAwait(false));
            }
        }
        foreach (var name in OptionalFiles)
        {
            await FetchOptionalAsync(cache, commit, name, files, ct).ConfigureAwait(false);
        }
        // A sentence-transformers model's pooling and normalisation, which bert embed and search follow as its encode does.
        if (await FetchOptionalAsync(cache, commit, SentenceTransformerModuleList.FileName, files, ct).ConfigureAwait(false) is { } modules)
        {
            foreach (var dir in SentenceTransformerModuleList.Read(modules.Path).PoolingDirs)
            {
                await FetchOptionalAsync(cache, commit, dir + "/config.json", files, ct).ConfigureAwait(false);
            }
            // Its max_seq_length, where encode cuts inputs: asked for only beside a modules.json, as only then is it read.
            await FetchOptionalAsync(cache, commit, SentenceBertConfig.FileName, files, ct).ConfigureAwait(false);
        }
        cache.WriteRef(revision, commit);
        return new HubDownloadResult(cache.RepoId, commit, cache.SnapshotDir(commit), files);
    }

    /// <summary>The file <paramref name="name"/> when the repo has it (added to <paramref name="files"/>); else marked missing, null.</summary>
    private async Task<HubFile?> FetchOptionalAsync(HubCache cache, string commit, string name, List<HubFile> files, CancellationToken ct)
    {
        var info = await HeadAsync(cache.RepoId, commit, name, ct).ConfigureAwait(false);
        if (info is null)
        {
            cache.MarkMissing(commit, name);
            return null;
        }
        var file = await FetchAsync(cache, info, ct).ConfigureAwait(false);
        files.Add(file);
        return file;
    }

    /// <summary>
    /// Makes the repo's folder in the cache before any request, so that a cache root that cannot hold it (a file, a read-only
    /// place) is an <see cref="OutputWriteException"/> naming the root: it was .NET's "could not find a part of the path
    /// '…/blobs'" after the first file had been asked for.
    /// </summary>
    private void CreateCacheDir(HubCache cache)
    {
        try
        {
            FolderFile.CreateDirectory(Path.Combine(cache.RepoDir, "blobs"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            var root = _options.ResolvedCacheDir;
            var full = Path.GetFullPath(root);
            throw File.Exists(full) ? new OutputWriteException(root, "a file, not a directory", e) : AtomicFile.Failure(root, full, full, e);
        }
    }

    private HubDownloadResult FromCacheOffline(HubCache cache, string revision)
    {
        var dir = FindCachedModel(cache.RepoId, revision)
            ?? throw new BertSharpException(
                $"{Describe(cache.RepoId, revision)} is not in the cache ({cache.RepoDir}) and offline mode is on " +
                $"({BertSharpException.Field("offline")} or HF_HUB_OFFLINE=1): download it once with HubClient.DownloadModel and network access.");
        var commit = Path.GetFileName(dir);
        // A link whose blob was deleted (to free space) is not a file of the snapshot any more.
        var files = Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Where(LinkedFile.Exists)
            .Select(p => new HubFile(Path.GetRelativePath(dir, p), p, LinkedFile.Length(p), Downloaded: false))
            .OrderBy(f => f.Name, StringComparer.Ordinal).ToList();
        foreach (var f in files)
        {
            LogFile(f);
        }
        return new HubDownloadResult(cache.RepoId, commit, dir, files);
    }

    /// <summary>
    /// <c>HEAD {endpoint}/{repo}/resolve/{revision}/{file}</c> as huggingface_hub does it: relative redirects (renamed
    /// repos) are followed, an absolute one (LFS → CDN) is not, and its <c>X-Linked-*</c> headers describe the file.
    /// Returns null when the file does not exist.
    /// </summary>
    public async Task<HubFileInfo?> HeadAsync(string repoId, string revision, string file, CancellationToken ct = default)
    {
        if (_http is null)
        {
            throw new InvalidOperationException("offline HubClient cannot make requests");
        }
        var requested = new Uri($"{_options.ResolvedEndpoint}/{repoId}/resolve/{Uri.EscapeDataString(revision)}/{EscapePath(file)}");
        using var resp = await SendFollowingRedirectsAsync(requested, u =>
        {
            var req = new HttpRequestMessage(HttpMethod.Head, u);
            req.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("identity"));
            Authorize(req, u);
            return req;
        }, req => SendAsync(req, repoId, file, ct), RedirectScope.Relative, context: null).ConfigureAwait(false);
        var url = resp.RequestMessage!.RequestUri!;
        int status = (int)resp.StatusCode;
        if (status is 404 or 401 or 403)
        {
            var code = Header(resp, "X-Error-Code");
            if (status == 404 && code is null or "EntryNotFound")
            {
                return null;
            }
            throw new BertSharpException(code switch
            {
                "RevisionNotFound" => $"revision '{revision}' does not exist in model '{repoId}' on {_options.ResolvedEndpoint}.",
                "GatedRepo" => $"model '{repoId}' is gated: accept its terms on the Hub and set HF_TOKEN to a token with access.",
                _ when status == 403 => $"access to model '{repoId}' is forbidden (HTTP 403): check that HF_TOKEN grants access.",
                _ => Invariant($"model '{repoId}' was not found on {_options.ResolvedEndpoint} (HTTP {status}); if it is private or gated, set HF_TOKEN."),
            });
        }
        if (status is < 200 or >= 400)
        {
            throw new BertSharpException(Invariant($"{url}: the Hub answered HTTP {status} {resp.ReasonPhrase}."));
        }
        var commit = Header(resp, "X-Repo-Commit") ?? (HubCache.IsCommitHash(revision) ? revision : null)
            ?? throw new BertSharpException($"{url}: the server did not send X-Repo-Commit (is {_options.ResolvedEndpoint} a HuggingFace Hub?).");
        if (!HubCache.IsCommitHash(commit))
        {
            throw new BertSharpException($"{url}: X-Repo-Commit '{commit}' is not a commit hash.");
        }
        var etag = NormalizeEtag(Header(resp, "X-Linked-Etag") ?? Header(resp, "ETag"))
            ?? throw new BertSharpException($"{url}: the server did not send an ETag, so the download cannot be verified or cached.");
        long? size = long.TryParse(Header(resp, "X-Linked-Size"), NumberStyles.None, CultureInfo.InvariantCulture, out var ls) ? ls
            : resp.Content.Headers.ContentLength;
        var download = status is >= 300 and < 400 && resp.Headers.Location is { } abs ? CheckRedirect(url, abs) : url;
        return new HubFileInfo(file, commit, etag, size, download);
    }

    private async Task<HubFile> FetchAsync(HubCache cache, HubFileInfo info, CancellationToken ct)
    {
        var blob = cache.BlobPath(info.ETag);
        bool downloaded = false;
        if (!IsCached(blob, info))
        {
            // One writer per blob, across threads and processes; a waiter finds the blob complete when it gets the lock.
            using var blobLock = await AcquireLockAsync(cache, info, blob + ".lock", ct).ConfigureAwait(false);
            if (!IsCached(blob, info))
            {
                await DownloadBlobAsync(cache, info, blob, ct).ConfigureAwait(false);
                downloaded = true;
            }
        }
        var path = cache.LinkSnapshot(info.Commit, info.File, info.ETag);
        var file = new HubFile(info.File, path, new FileInfo(blob).Length, downloaded);
        LogFile(file);
        return file;
    }

    // File names come from the repository (a shard index, the cache's listing), not from the user, and the log is often a
    // terminal: an escape in one would drive it.
    private void LogFile(HubFile f) =>
        _options.Log?.WriteLine($"{SafeText.Escape(f.Name),-36} {FormatSize(f.Size),10}  {(f.Downloaded ? "downloaded" : "cached")}");

    private static bool IsCached(string blob, HubFileInfo info) =>
        File.Exists(blob) && (info.Size is not { } size || new FileInfo(blob).Length == size);

    /// <summary>An exclusive lock file (.NET enforces FileShare.None with flock on Unix, a sharing lock on Windows).</summary>
    private async Task<FileStream> AcquireLockAsync(HubCache cache, HubFileInfo info, string lockPath, CancellationToken ct)
    {
        var waited = TimeSpan.Zero;
        var step = TimeSpan.FromMilliseconds(200);
        while (true)
        {
            try
            {
                return FolderFile.Open(lockPath,
                    () => new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose));
            }
            // A folder that cannot be made is not another download holding the lock (one that kept vanishing is FolderFile's
            // own error).
            catch (IOException e) when (e is not DirectoryNotFoundException && waited < _options.LockTimeout)
            {
                if (waited == TimeSpan.Zero)
                {
                    _options.Log?.WriteLine($"{SafeText.Escape(info.File)}: waiting for another download of the same file to finish…");
                }
                await Task.Delay(step, ct).ConfigureAwait(false);
                waited += step;
            }
            catch (IOException e) when (e is not DirectoryNotFoundException)
            {
                throw new BertSharpException(
                    Invariant($"{cache.RepoId}/{info.File}: another process has been downloading it for {waited.TotalSeconds:0} s ({lockPath}); try again later."), e);
            }
        }
    }

    private async Task DownloadBlobAsync(HubCache cache, HubFileInfo info, string blob, CancellationToken ct)
    {
        var incomplete = blob + ".incomplete";
        int attempt = 0;
        while (true)
        {
            long have = File.Exists(incomplete) ? new FileInfo(incomplete).Length : 0;
            if (info.Size is { } size && have > size)
            {
                File.Delete(incomplete);
                have = 0;
            }
            if (info.Size is { } full && have == full && have > 0)
            {
                break;
            }
            try
            {
                if (await TryDownloadRangeAsync(cache.RepoId, info, incomplete, have, ct).ConfigureAwait(false))
                {
                    break;
                }
            }
            catch (Exception e) when (IsTransient(e, ct))
            {
                if (++attempt > _options.MaxResumes)
                {
                    throw new BertSharpException(
                        Invariant($"{cache.RepoId}/{info.File}: download failed after {attempt} attempt{(attempt == 1 ? "" : "s")} ({e.Message}); the partial file is kept and the next run resumes it."), e);
                }
                await Task.Delay(TimeSpan.FromMilliseconds(100 * attempt), ct).ConfigureAwait(false);
                continue;
            }
            if (++attempt > _options.MaxResumes)
            {
                throw new BertSharpException(Invariant($"{cache.RepoId}/{info.File}: download kept ending early after {attempt} attempt{(attempt == 1 ? "" : "s")}; the partial file is kept and the next run resumes it."));
            }
        }
        Verify(cache.RepoId, info, incomplete);
        File.Move(incomplete, blob, overwrite: true);
    }

    /// <summary>One GET (resuming at <paramref name="have"/>); true when the body arrived complete.</summary>
    private async Task<bool> TryDownloadRangeAsync(string repoId, HubFileInfo info, string incomplete, long have, CancellationToken ct)
    {
        using var resp = await SendFollowingRedirectsAsync(info.DownloadUrl, u =>
        {
            var req = new HttpRequestMessage(HttpMethod.Get, u);
            req.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("identity"));
            if (have > 0)
            {
                req.Headers.Range = new RangeHeaderValue(have, null);
            }
            Authorize(req, u);
            return req;
        }, req => SendAsync(req, repoId, info.File, ct), RedirectScope.AnyHttp, context: null).ConfigureAwait(false);
        var url = resp.RequestMessage!.RequestUri!;
        int status = (int)resp.StatusCode;
        if (status == 416 && have > 0)
        {
            // The server has nothing past what we hold: with no size announced we are complete (verified next); with one,
            // its file is shorter than the Hub announced (a partial file of the announced size never asks: the loop stops
            // first). Downloading it again would end at the same byte: that was done MaxResumes times, and the error then
            // said the partial file was kept for the next run, which had deleted it each time.
            if (info.Size is null)
            {
                return true;
            }
            File.Delete(incomplete);
            throw new BertSharpException(
                Invariant($"{repoId}/{info.File}: the server has {have} bytes of it but the Hub announced {info.Size}; the download was discarded."));
        }
        if (status is not (200 or 206))
        {
            throw new BertSharpException(Invariant($"{repoId}/{info.File}: download answered HTTP {status} {resp.ReasonPhrase} ({url})."));
        }
        long start = 0;
        if (status == 206)
        {
            start = resp.Content.Headers.ContentRange?.From ?? -1;
            if (start != have)
            {
                throw new BertSharpException(Invariant($"{repoId}/{info.File}: the server resumed at byte {start}, not at {have}."));
            }
        }
        using var file = FolderFile.Open(incomplete, () => new FileStream(incomplete, FileMode.OpenOrCreate, FileAccess.Write, FileShare.None, 1 << 16));
        file.SetLength(start);
        file.Position = start;
        using var body = await resp.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        var buffer = new byte[1 << 16];
        long reported = start;
        while (true)
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cts.CancelAfter(_options.ReadTimeout);
            int n = await body.ReadAsync(buffer, cts.Token).ConfigureAwait(false);
            if (n == 0)
            {
                break;
            }
            await file.WriteAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
            if (file.Position - reported >= 1 << 20)
            {
                reported = file.Position;
                _options.Progress?.Report(new HubDownloadProgress(info.File, reported, info.Size));
            }
        }
        await file.FlushAsync(ct).ConfigureAwait(false);
        _options.Progress?.Report(new HubDownloadProgress(info.File, file.Position, info.Size));
        return info.Size is null || file.Length >= info.Size;
    }

    private static void Verify(string repoId, HubFileInfo info, string incomplete)
    {
        long length = new FileInfo(incomplete).Length;
        if (info.Size is { } size && length != size)
        {
            File.Delete(incomplete);
            throw new BertSharpException(Invariant($"{repoId}/{info.File}: downloaded {length} bytes but the Hub announced {size}; the download was discarded."));
        }
        if (info.IsSha256)
        {
            string actual;
            using (var fs = File.OpenRead(incomplete))
            {
                actual = Convert.ToHexStringLower(SHA256.HashData(fs));
            }
            if (!string.Equals(actual, info.ETag, StringComparison.OrdinalIgnoreCase))
            {
                File.Delete(incomplete);
                throw new BertSharpException(
                    $"{repoId}/{info.File}: sha256 of the download is {actual} but the Hub says {info.ETag}; the corrupted download was discarded.");
            }
        }
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage req, string repoId, string file, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(_options.ReadTimeout);
        try
        {
            return await _http!.SendAsync(req, HttpCompletionOption.ResponseHeadersRead, cts.Token).ConfigureAwait(false);
        }
        catch (HttpRequestException e) when (req.Method == HttpMethod.Head)
        {
            throw new BertSharpException(
                $"cannot reach {_options.ResolvedEndpoint} for {repoId}/{file} ({e.Message}); set HF_HUB_OFFLINE=1 to work from the cache.", e);
        }
        catch (OperationCanceledException e) when (!ct.IsCancellationRequested && req.Method == HttpMethod.Head)
        {
            throw new BertSharpException(Invariant($"{req.RequestUri}: no answer within {_options.ReadTimeout.TotalSeconds:0.###} s."), e);
        }
    }

    private static bool IsTransient(Exception e, CancellationToken ct) =>
        !ct.IsCancellationRequested && e is HttpRequestException or IOException or OperationCanceledException;

    /// <summary>The token goes only to the Hub endpoint itself, never to a CDN a redirect points at.</summary>
    private void Authorize(HttpRequestMessage req, Uri url)
    {
        if (_options.ResolvedToken is { Length: > 0 } token && SameServer(url, new Uri(_options.ResolvedEndpoint)))
        {
            req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
    }

    private static bool SameServer(Uri a, Uri b) =>
        Uri.Compare(a, b, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0;

    private static string? Header(HttpResponseMessage resp, string name) =>
        resp.Headers.TryGetValues(name, out var v) || resp.Content.Headers.TryGetValues(name, out v) ? v.FirstOrDefault() : null;

    /// <summary>huggingface_hub strips the weak prefix and quotes: <c>W/"abc"</c> → <c>abc</c>.</summary>
    internal static string? NormalizeEtag(string? etag)
    {
        if (string.IsNullOrWhiteSpace(etag))
        {
            return null;
        }
        var e = etag.Trim();
        if (e.StartsWith("W/", StringComparison.Ordinal))
        {
            e = e[2..];
        }
        e = e.Trim('"');
        // The ETag becomes a file name under blobs/.
        return e.Length > 0 && e.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_') ? e : null;
    }

    private static string EscapePath(string file) => string.Join('/', file.Split('/').Select(Uri.EscapeDataString));

    private string Describe(string repoId, string revision) => $"model '{repoId}' (revision {revision}) on {_options.ResolvedEndpoint}";

    internal static string FormatSize(long bytes) => bytes switch
    {
        < 1024 => Invariant($"{bytes} B"),
        < 1024 * 1024 => Invariant($"{bytes / 1024.0:0.0} KB"),
        < 1024L * 1024 * 1024 => Invariant($"{bytes / 1024.0 / 1024:0.0} MB"),
        _ => Invariant($"{bytes / 1024.0 / 1024 / 1024:0.00} GB"),
    };

    /// <summary>Releases the HTTP client (and its connections); nothing to release in offline mode.</summary>
    public void Dispose() => _http?.Dispose();
}
