using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using BertSharp.IO;

namespace BertSharp.Checkpoints;

// The upload half of the client, on huggingface_hub's HTTP protocol (hf_api.create_repo / create_commit, _commit_api.py,
// lfs.py): preupload → LFS batch and transfers → one NDJSON commit.
public sealed partial class HubClient
{
    private const string LfsMediaType = "application/vnd.git-lfs+json";

    // huggingface_hub's _fetch_upload_modes asks about 256 files per request.
    private const int PreuploadChunk = 256;

    // _commit_api._upload_lfs_files asks the LFS batch endpoint about UPLOAD_BATCH_MAX_NUM_FILES = 256 objects per request,
    // "to avoid reaching the payload limit": a folder of thousands of LFS files in one request would be refused.
    private const int LfsBatchChunk = 256;

    /// <summary>
    /// Uploads the model directory <paramref name="folder"/> to the Hub model repo <paramref name="repoId"/> as one commit on
    /// the client's <see cref="HubOptions.Revision"/>, as huggingface_hub's <c>upload_folder</c> does: the Hub decides per file
    /// whether it goes to git or to LFS, LFS content the Hub already holds is not sent again, large LFS files go in the parts
    /// the Hub asks for. A file the repo already has with the same content at the same path (the preupload's oid) is left
    /// out (<see cref="HubUploadMode.Unchanged"/>), and when no file changed no commit is made: the result is then the
    /// branch's head (<see cref="HubUploadResult.Committed"/> false). Every file of the directory goes except <c>.git</c>,
    /// <c>.cache/huggingface</c>, bert's own bookkeeping (<c>.bertsharp</c>, interrupted writes' leftovers), training checkpoints (<c>checkpoint-N/</c>) and what
    /// <see cref="HubUploadOptions.AllowPatterns"/> and <see cref="HubUploadOptions.IgnorePatterns"/> filter out. A 307
    /// or 308 from the Hub (a renamed repo) is followed on the same host, at most 5 times, with the same body. The token (<see cref="HubOptions.Token"/>, else <c>HF_TOKEN</c> or the login file) is required.
    /// </summary>
    /// <param name="folder">A model directory: config.json and weights (model.safetensors, pytorch_model.bin or an index with its shards).</param>
    /// <param name="repoId"><c>org/name</c> (or <c>name</c>, the token's own namespace).</param>
    /// <param name="upload">Commit message, repo creation; null for the defaults.</param>
    /// <param name="ct">Cancels the upload (the commit is the last request: nothing is committed before it).</param>
    /// <exception cref="BertSharpException">
    /// The folder is not a model directory, the repo id or revision is invalid, no token, offline mode, or the Hub refused a
    /// step (the message names the repo, the step, the HTTP status and the Hub's own reason).
    /// </exception>
    public HubUploadResult UploadFolder(string folder, string repoId, HubUploadOptions? upload = null, CancellationToken ct = default) =>
        UploadFolderAsync(folder, repoId, upload, ct).GetAwaiter().GetResult();

    /// <inheritdoc cref="UploadFolder"/>
    public async Task<HubUploadResult> UploadFolderAsync(string folder, string repoId, HubUploadOptions? upload = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(repoId);
        upload ??= new HubUploadOptions();
        if (!HubCache.IsValidRepoId(repoId))
        {
            throw new BertSharpException(
                $"{BertSharpException.Field("repo")} '{repoId}': expected a Hub model id 'name' or 'org/name' (letters, digits, '-', '_', '.').");
        }
        var revision = HubCache.ValidateRevision(_options.Revision);
        if (upload.Private && !upload.CreateRepo)
        {
            throw new BertSharpException(
                $"{BertSharpException.Field("private")} applies when the repo is created: add {BertSharpException.Field("create")} (an existing repo keeps its visibility).");
        }
        // Everything that can be refused here is, before the first request.
        var files = HubUploadFiles.Collect(folder, upload.AllowPatterns, upload.IgnorePatterns);
        if (_http is null)
        {
            throw new BertSharpException($"cannot upload to model '{repoId}': offline mode is on (HF_HUB_OFFLINE=1).");
        }
        if (_options.ResolvedToken is null)
        {
            throw new BertSharpException(
                $"uploading to model '{repoId}' needs a Hub token with write access: set HF_TOKEN, or log in with 'hf auth login' (huggingface-cli login), which writes the token file.");
        }
        if (upload.CreateRepo)
        {
            await CreateRepoAsync(repoId, upload.Private, ct).ConfigureAwait(false);
        }
        // huggingface_hub sends the revision URL-encoded as one path segment (quote(revision, safe="")): refs/pr/1 → refs%2Fpr%2F1.
        var quoted = Uri.EscapeDataString(revision);
        var remote = await PreuploadAsync(repoId, quoted, files, ct).ConfigureAwait(false);
        var sent = new List<HubUploadedFile>();
        var lfs = new List<(HubLocalFile File, string Oid)>();
        foreach (var f in files)
        {
            var (lfsMode, ignore, remoteOid) = remote[f.PathInRepo];
            // As huggingface_hub: an empty file cannot go to LFS storage (S3 answers 501), so it is committed as a regular one.
            bool isLfs = lfsMode && f.Size > 0;
            var sha256 = isLfs ? f.Sha256() : null;
            // create_commit's "Remove no-op operations": a file whose oid at that path on the Hub is its own (_local_oid:
            // sha256 for an LFS file, git's blob sha1 for a regular one) is left out, ignored or not.
            var mode = remoteOid is not null && remoteOid == (sha256 ?? f.GitBlobSha1()) ? HubUploadMode.Unchanged
                : ignore ? HubUploadMode.Ignored : isLfs ? HubUploadMode.Lfs : HubUploadMode.Regular;
            if (mode == HubUploadMode.Lfs)
            {
                lfs.Add((f, sha256!));
            }
            sent.Add(new HubUploadedFile(f.PathInRepo, f.Size, mode));
        }
        var present = lfs.Count == 0 ? [] : await UploadLfsAsync(repoId, revision, lfs, ct).ConfigureAwait(false);
        for (int i = 0; i < sent.Count; i++)
        {
            if (sent[i].Mode == HubUploadMode.Lfs && present.Contains(sent[i].Name))
            {
                sent[i] = sent[i] with { Mode = HubUploadMode.LfsAlreadyOnHub };
            }
        }
        // "No files have been modified since last commit. Skipping to prevent empty commit.": the answer is then the
        // revision's head, from repo_info, as create_commit returns it.
        var (oid, url) = sent.All(f => f.Mode == HubUploadMode.Unchanged)
            ? await HeadCommitAsync(repoId, quoted, ct).ConfigureAwait(false)
            : await CommitAsync(repoId, quoted, upload, files, sent, lfs.ToDictionary(l => l.File.PathInRepo, l => l.Oid, StringComparer.Ordinal), ct)
                .ConfigureAwait(false);
        foreach (var f in sent)
        {
            _options.Log?.WriteLine($"{SafeText.Escape(f.Name),-36} {FormatSize(f.Size),10}  {Describe(f.Mode)}");
        }
        return new HubUploadResult(repoId, revision, oid, url, sent);
    }

    private static string Describe(HubUploadMode mode) => mode switch
    {
        HubUploadMode.Regular => "committed",
        HubUploadMode.Lfs => "uploaded (LFS)",
        HubUploadMode.LfsAlreadyOnHub => "already on the Hub (LFS)",
        HubUploadMode.Unchanged => "unchanged (not sent)",
        _ => "ignored (the repo's .gitignore)",
    };

    /// <summary>
    /// hf_api.create_repo: <c>{"name", "organization", "visibility", "type"}</c>; a repo that exists is fine, as exist_ok=True.
    /// </summary>
    private async Task CreateRepoAsync(string repoId, bool isPrivate, CancellationToken ct)
    {
        int slash = repoId.IndexOf('/', StringComparison.Ordinal);
        var body = new JsonObject
        {
            ["name"] = slash < 0 ? repoId : repoId[(slash + 1)..],
            ["organization"] = slash < 0 ? null : repoId[..slash],
        };
        // As create_repo(private=None): without --private no visibility is sent, so the Hub applies the namespace's default
        // (an organisation may make new repos private); "public" here would publish a model its owner meant to keep.
        if (isPrivate)
        {
            body["visibility"] = "private";
        }
        body["type"] = "model";
        using var resp = await PostJsonAsync(repoId, "creating the repo", new Uri($"{_options.ResolvedEndpoint}/api/repos/create"), body, null, auth: true, ct)
            .ConfigureAwait(false);
        int status = (int)resp.StatusCode;
        // exist_ok=True also passes over 401, 402 and 403 when repo_info finds the repo: a token may write to a namespace's
        // repos without the right to create one there.
        if (status == 409 || (status is 401 or 402 or 403 && await RepoExistsAsync(repoId, ct).ConfigureAwait(false)))
        {
            return;
        }
        await EnsureSuccessAsync(resp, repoId, "creating the repo", ct).ConfigureAwait(false);
    }

    /// <summary>hf_api.repo_info: <c>GET /api/models/{repo_id}</c> answers 2xx.</summary>
    private async Task<bool> RepoExistsAsync(string repoId, CancellationToken ct)
    {
        using var resp = await SendUploadAsync(new Uri($"{_options.ResolvedEndpoint}/api/models/{repoId}"), Get, repoId, "looking the repo up", timeout: true, ct)
            .ConfigureAwait(false);
        return resp.IsSuccessStatusCode;
    }

    /// <summary>
    /// hf_api.repo_info(revision=...): <c>GET /api/models/{repo_id}/revision/{revision}</c>, whose <c>sha</c> is the
    /// revision's head commit; with its page's URL as create_commit builds it.
    /// </summary>
    private async Task<(string Oid, string Url)> HeadCommitAsync(string repoId, string quotedRevision, CancellationToken ct)
    {
        const string step = "looking the revision up";
        using var resp = await SendUploadAsync(new Uri($"{_options.ResolvedEndpoint}/api/models/{repoId}/revision/{quotedRevision}"), Get, repoId, step, timeout: true, ct)
            .ConfigureAwait(false);
        var answer = await ReadJsonAsync(resp, repoId, step, ct).ConfigureAwait(false);
        if (answer["sha"]?.GetValueKind() != JsonValueKind.String || !HubCache.IsCommitHash(answer["sha"]!.GetValue<string>()))
        {
            throw Malformed(repoId, step, "no commit hash in 'sha'");
        }
        var sha = answer["sha"]!.GetValue<string>();
        return (sha, $"{_options.ResolvedEndpoint}/{repoId}/commit/{sha}");
    }

    private HttpRequestMessage Get(Uri url)
    {
        var req = new HttpRequestMessage(HttpMethod.Get, url);
        Authorize(req, url);
        return req;
    }

    /// <summary>
    /// _commit_api._fetch_upload_modes: each file's path, size and base64 first 512 bytes → uploadMode, shouldIgnore, and
    /// the oid of the file the repo has at that path (absent for a new path).
    /// </summary>
    private async Task<Dictionary<string, (bool Lfs, bool Ignore, string? RemoteOid)>> PreuploadAsync(string repoId, string quotedRevision, IReadOnlyList<HubLocalFile> files, CancellationToken ct)
    {
        const string step = "preupload";
        var modes = new Dictionary<string, (bool, bool, string?)>(StringComparer.Ordinal);
        foreach (var chunk in files.Chunk(PreuploadChunk))
        {
            var list = new JsonArray();
            foreach (var f in chunk)
            {
                list.Add(new JsonObject { ["path"] = f.PathInRepo, ["sample"] = Convert.ToBase64String(f.Sample()), ["size"] = f.Size });
            }
            var url = new Uri($"{_options.ResolvedEndpoint}/api/models/{repoId}/preupload/{quotedRevision}");
            using var resp = await PostJsonAsync(repoId, step, url, new JsonObject { ["files"] = list }, null, auth: true, ct).ConfigureAwait(false);
            var answer = await ReadJsonAsync(resp, repoId, step, ct).ConfigureAwait(false);
            foreach (var node in answer["files"] as JsonArray ?? throw Malformed(repoId, step, "no 'files' list"))
            {
                var mode = node?["uploadMode"]?.GetValueKind() == JsonValueKind.String ? node["uploadMode"]!.GetValue<string>() : null;
                if (node?["path"]?.GetValueKind() != JsonValueKind.String || mode is not ("lfs" or "regular"))
                {
                    throw Malformed(repoId, step, "a file without its path or uploadMode 'lfs'/'regular'");
                }
                bool ignore = node!["shouldIgnore"]?.GetValueKind() == JsonValueKind.True;
                var remoteOid = node["oid"]?.GetValueKind() == JsonValueKind.String ? node["oid"]!.GetValue<string>() : null;
                modes[node["path"]!.GetValue<string>()] = (mode == "lfs", ignore, remoteOid);
            }
        }
        if (files.FirstOrDefault(f => !modes.ContainsKey(f.PathInRepo)) is { } missing)
        {
            throw Malformed(repoId, step, $"no uploadMode for '{SafeText.Escape(missing.PathInRepo)}'");
        }
        return modes;
    }

    /// <summary>
    /// lfs.post_lfs_batch_info and lfs_upload: one batch request for every LFS file, then per object nothing (already
    /// stored), one PUT, or the parts of a multipart upload and its completion; then the verify action when there is one.
    /// Returns the paths whose content the Hub already had.
    /// </summary>
    private async Task<HashSet<string>> UploadLfsAsync(string repoId, string revision, List<(HubLocalFile File, string Oid)> lfs, CancellationToken ct)
    {
        const string step = "LFS batch";
        var byOid = lfs.GroupBy(l => l.Oid, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        var present = new HashSet<string>(StringComparer.Ordinal);
        // Every batch is asked before any transfer, as _upload_lfs_files does: a refused object stops the upload before a byte is sent.
        var answers = new List<JsonNode?>();
        foreach (var chunk in lfs.DistinctBy(l => l.Oid).Chunk(LfsBatchChunk))
        {
            var objects = new JsonArray();
            foreach (var (f, oid) in chunk)
            {
                objects.Add(new JsonObject { ["oid"] = oid, ["size"] = f.Size });
            }
            var body = new JsonObject
            {
                ["operation"] = "upload",
                ["transfers"] = new JsonArray("basic", "multipart"),
                ["objects"] = objects,
                ["hash_algo"] = "sha256",
                ["ref"] = new JsonObject { ["name"] = revision },
            };
            var url = new Uri($"{_options.ResolvedEndpoint}/{repoId}.git/info/lfs/objects/batch");
            using var resp = await PostJsonAsync(repoId, step, url, body, LfsMediaType, auth: true, ct).ConfigureAwait(false);
            var answer = await ReadJsonAsync(resp, repoId, step, ct).ConfigureAwait(false);
            answers.AddRange(answer["objects"] as JsonArray ?? throw Malformed(repoId, step, "no 'objects' list"));
        }
        foreach (var obj in answers)
        {
            if (obj?["oid"]?.GetValueKind() != JsonValueKind.String || !byOid.TryGetValue(obj["oid"]!.GetValue<string>(), out var owners))
            {
                throw Malformed(repoId, step, "an object that is none of the files asked about");
            }
            var file = owners[0].File;
            if (obj["error"] is JsonObject error)
            {
                throw new BertSharpException(Invariant(
                    $"upload to model '{repoId}': the Hub refused {SafeText.Escape(file.PathInRepo)} in the LFS batch: {SafeText.Escape(error["message"]?.ToString())} (code {SafeText.Escape(error["code"]?.ToString())})."));
            }
            if (obj["actions"] is not JsonObject actions)
            {
                owners.ForEach(o => present.Add(o.File.PathInRepo));
                continue;
            }
            var uploadAction = actions["upload"] as JsonObject ?? throw Malformed(repoId, step, "actions without an upload action");
            await TransferAsync(repoId, file, owners[0].Oid, uploadAction, ct).ConfigureAwait(false);
            if (actions["verify"] is JsonObject verify)
            {
                var what = $"verifying {SafeText.Escape(file.PathInRepo)}";
                using var verified = await PostJsonAsync(repoId, what, ActionUrl(repoId, step, verify),
                    new JsonObject { ["oid"] = owners[0].Oid, ["size"] = file.Size }, null, auth: true, ct).ConfigureAwait(false);
                await EnsureSuccessAsync(verified, repoId, what, ct).ConfigureAwait(false);
            }
        }
        return present;
    }

    private async Task TransferAsync(string repoId, HubLocalFile file, string oid, JsonObject action, CancellationToken ct)
    {
        var shown = SafeText.Escape(file.PathInRepo);
        var href = ActionUrl(repoId, "LFS batch", action);
        var header = action["header"] as JsonObject;
        if (header?["chunk_size"] is not { } chunkNode)
        {
            // lfs._upload_single_part: the file's bytes in one PUT to the storage URL, without the Hub token.
            var what = $"uploading {shown}";
            using var resp = await SendUploadAsync(href, u => new HttpRequestMessage(HttpMethod.Put, u) { Content = new StreamContent(File.OpenRead(file.FullPath)) },
                repoId, what, timeout: false, ct).ConfigureAwait(false);
            await EnsureSuccessAsync(resp, repoId, what, ct).ConfigureAwait(false);
            return;
        }
        // lfs._upload_multi_part: the header's numbered entries are the parts' URLs; chunk_size bytes each, in order.
        if (!long.TryParse(chunkNode.ToString(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var chunk) || chunk <= 0)
        {
            throw Malformed(repoId, "LFS batch", $"chunk_size '{SafeText.Escape(chunkNode.ToString())}' is not a positive integer");
        }
        var parts = header.Where(kv => kv.Key.Length > 0 && kv.Key.All(char.IsAsciiDigit))
            .Select(kv => (Number: long.Parse(kv.Key, System.Globalization.CultureInfo.InvariantCulture), Url: kv.Value?.ToString() ?? ""))
            .OrderBy(p => p.Number).ToList();
        if (parts.Count != (file.Size + chunk - 1) / chunk)
        {
            throw Malformed(repoId, "LFS batch", Invariant($"{parts.Count} part URLs for {shown} ({file.Size} bytes in parts of {chunk})"));
        }
        var etags = new JsonArray();
        await using (var stream = File.OpenRead(file.FullPath))
        {
            for (int i = 0; i < parts.Count; i++)
            {
                var what = Invariant($"uploading part {i + 1} of {parts.Count} of {shown}");
                var bytes = new byte[Math.Min(chunk, file.Size - (i * chunk))];
                await stream.ReadExactlyAsync(bytes, ct).ConfigureAwait(false);
                using var resp = await SendUploadAsync(CheckedUrl(repoId, parts[i].Url), u => new HttpRequestMessage(HttpMethod.Put, u) { Content = new ByteArrayContent(bytes) },
                    repoId, what, timeout: false, ct).ConfigureAwait(false);
                await EnsureSuccessAsync(resp, repoId, what, ct).ConfigureAwait(false);
                // The completion lists each part's ETag exactly as the storage sent it (quotes included).
                var etag = resp.Headers.TryGetValues("ETag", out var v) ? v.FirstOrDefault() : null;
                if (string.IsNullOrEmpty(etag))
                {
                    throw new BertSharpException($"upload to model '{repoId}': {what}: the storage sent no ETag, which the completion needs.");
                }
                etags.Add(new JsonObject { ["partNumber"] = i + 1, ["etag"] = etag });
            }
        }
        // The completion goes to the upload href (the Hub, not the storage) with the LFS headers only, as huggingface_hub sends it.
        var done = $"completing the multipart upload of {shown}";
        using var completion = await PostJsonAsync(repoId, done, href, new JsonObject { ["oid"] = oid, ["parts"] = etags }, LfsMediaType, auth: false, ct)
            .ConfigureAwait(false);
        await EnsureSuccessAsync(completion, repoId, done, ct).ConfigureAwait(false);
    }

    /// <summary>_commit_api._prepare_commit_payload / _create_commit: a header line, then one line per file, as NDJSON.</summary>
    private async Task<(string Oid, string Url)> CommitAsync(string repoId, string quotedRevision, HubUploadOptions upload, IReadOnlyList<HubLocalFile> files,
        List<HubUploadedFile> sent, Dictionary<string, string> oids, CancellationToken ct)
    {
        const string step = "commit";
        var ndjson = new StringBuilder();
        ndjson.Append(new JsonObject
        {
            ["key"] = "header",
            ["value"] = new JsonObject { ["summary"] = upload.CommitMessage ?? "Upload model using BertSharp", ["description"] = upload.CommitDescription ?? "" },
        }.ToJsonString()).Append('\n');
        for (int i = 0; i < files.Count; i++)
        {
            var f = files[i];
            JsonObject? line = sent[i].Mode switch
            {
                HubUploadMode.Ignored or HubUploadMode.Unchanged => null,
                HubUploadMode.Regular => new JsonObject
                {
                    ["key"] = "file",
                    ["value"] = new JsonObject { ["content"] = Convert.ToBase64String(await File.ReadAllBytesAsync(f.FullPath, ct).ConfigureAwait(false)), ["path"] = f.PathInRepo, ["encoding"] = "base64" },
                },
                _ => new JsonObject
                {
                    ["key"] = "lfsFile",
                    ["value"] = new JsonObject { ["path"] = f.PathInRepo, ["algo"] = "sha256", ["oid"] = oids[f.PathInRepo], ["size"] = f.Size },
                },
            };
            if (line is not null)
            {
                ndjson.Append(line.ToJsonString()).Append('\n');
            }
        }
        var bytes = Encoding.UTF8.GetBytes(ndjson.ToString());
        using var resp = await SendUploadAsync(new Uri($"{_options.ResolvedEndpoint}/api/models/{repoId}/commit/{quotedRevision}"), u =>
        {
            var req = new HttpRequestMessage(HttpMethod.Post, u) { Content = new ByteArrayContent(bytes) };
            req.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
            Authorize(req, u);
            return req;
        }, repoId, step, timeout: true, ct).ConfigureAwait(false);
        var answer = await ReadJsonAsync(resp, repoId, step, ct).ConfigureAwait(false);
        if (answer["commitOid"]?.GetValueKind() != JsonValueKind.String || answer["commitUrl"]?.GetValueKind() != JsonValueKind.String)
        {
            throw Malformed(repoId, step, "no commitOid and commitUrl");
        }
        return (answer["commitOid"]!.GetValue<string>(), answer["commitUrl"]!.GetValue<string>());
    }

    private Task<HttpResponseMessage> PostJsonAsync(string repoId, string step, Uri url, JsonObject body, string? mediaType, bool auth, CancellationToken ct)
    {
        var bytes = Encoding.UTF8.GetBytes(body.ToJsonString());
        return SendUploadAsync(url, u =>
        {
            var req = new HttpRequestMessage(HttpMethod.Post, u) { Content = new ByteArrayContent(bytes) };
            req.Content.Headers.ContentType = new MediaTypeHeaderValue(mediaType ?? "application/json");
            if (mediaType is not null)
            {
                req.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(mediaType));
            }
            if (auth)
            {
                Authorize(req, u);
            }
            return req;
        }, repoId, step, timeout: true, ct);
    }

    /// <summary>
    /// Sends an upload request (made afresh by <paramref name="request"/> for each URL) and reads the whole answer,
    /// following the Hub's 307 and 308 (a renamed or moved repo) with the same method, headers and body, from the Hub
    /// endpoint to the same scheme, host and port only (<see cref="RedirectScope.Endpoint"/>).
    /// </summary>
    private Task<HttpResponseMessage> SendUploadAsync(Uri url, Func<Uri, HttpRequestMessage> request, string repoId, string step, bool timeout, CancellationToken ct) =>
        SendFollowingRedirectsAsync(url, request, req => SendUploadOnceAsync(req, repoId, step, timeout, ct), RedirectScope.Endpoint, $"upload to model '{repoId}': {step}");

    /// <summary>
    /// Sends one request and reads the whole answer. JSON requests wait at most <see cref="HubOptions.ReadTimeout"/>; a PUT
    /// of file content takes as long as its bytes take.
    /// </summary>
    private async Task<HttpResponseMessage> SendUploadOnceAsync(HttpRequestMessage req, string repoId, string step, bool timeout, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        if (timeout)
        {
            cts.CancelAfter(_options.ReadTimeout);
        }
        try
        {
            return await _http!.SendAsync(req, HttpCompletionOption.ResponseContentRead, cts.Token).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new BertSharpException($"upload to model '{repoId}': {step}: cannot reach {req.RequestUri?.GetLeftPart(UriPartial.Authority)} ({e.Message}).", e);
        }
        catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw new BertSharpException(Invariant($"upload to model '{repoId}': {step}: no answer within {_options.ReadTimeout.TotalSeconds:0.###} s."), e);
        }
    }

    private async Task<JsonNode> ReadJsonAsync(HttpResponseMessage resp, string repoId, string step, CancellationToken ct)
    {
        await EnsureSuccessAsync(resp, repoId, step, ct).ConfigureAwait(false);
        try
        {
            return JsonNode.Parse(await resp.Content.ReadAsStringAsync(ct).ConfigureAwait(false), documentOptions: StrictJson.Options) as JsonObject
                ?? throw Malformed(repoId, step, "not a JSON object");
        }
        catch (JsonException)
        {
            throw Malformed(repoId, step, "not JSON");
        }
    }

    /// <summary>
    /// hf_raise_for_status's wording, in one line: the repo, the step, the status, and the Hub's reason (X-Error-Message, else
    /// the body's "error"), with what to do for the statuses a user can mend.
    /// </summary>
    private async Task EnsureSuccessAsync(HttpResponseMessage resp, string repoId, string step, CancellationToken ct)
    {
        int status = (int)resp.StatusCode;
        if (status is >= 200 and < 300)
        {
            return;
        }
        var reason = Header(resp, "X-Error-Message");
        if (reason is null)
        {
            try
            {
                reason = JsonNode.Parse(await resp.Content.ReadAsStringAsync(ct).ConfigureAwait(false))?["error"]?.ToString();
            }
            catch (JsonException)
            {
            }
        }
        var hint = status switch
        {
            401 => "; set HF_TOKEN to a token with write access (or log in with 'hf auth login')",
            403 => "; check that HF_TOKEN grants write access to it",
            404 when Header(resp, "X-Error-Code") == "RevisionNotFound" => $"; make the branch on the Hub first, or give another {BertSharpException.Field("revision")}",
            404 when step != "creating the repo" => $"; if it does not exist yet, add {BertSharpException.Field("create")}",
            _ => "",
        };
        var said = string.IsNullOrWhiteSpace(reason) ? "" : $": {SafeText.Escape(reason.Trim())}";
        throw new BertSharpException(Invariant(
            $"upload to model '{repoId}' on {_options.ResolvedEndpoint}: {step} answered HTTP {status} {resp.ReasonPhrase}{said}{hint}."));
    }

    private Uri ActionUrl(string repoId, string step, JsonObject action) =>
        action["href"]?.GetValueKind() == JsonValueKind.String
            ? CheckedUrl(repoId, FixEndpoint(action["href"]!.GetValue<string>()))
            : throw Malformed(repoId, step, "an action without its href");

    /// <summary>
    /// utils/_http.fix_hf_endpoint_in_url: behind a proxy (an endpoint other than the Hub's own), the Hub still writes its
    /// https://huggingface.co in the action URLs, which must go through the proxy (and get the token, which goes only there).
    /// </summary>
    private string FixEndpoint(string url)
    {
        var endpoint = _options.ResolvedEndpoint;
        return endpoint is HubEndpoint or HubStagingEndpoint
            ? url
            : url.Replace(HubEndpoint, endpoint, StringComparison.Ordinal).Replace(HubStagingEndpoint, endpoint, StringComparison.Ordinal);
    }

    private const string HubEndpoint = "https://huggingface.co";
    private const string HubStagingEndpoint = "https://hub-ci.huggingface.co";

    /// <summary>An LFS action may only send the file to an http(s) URL, as downloads may only follow one.</summary>
    private static Uri CheckedUrl(string repoId, string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var u) && (u.Scheme == Uri.UriSchemeHttp || u.Scheme == Uri.UriSchemeHttps)
            ? u
            : throw Malformed(repoId, "LFS batch", $"'{SafeText.Escape(url)}' is not an http(s) URL");

    private static BertSharpException Malformed(string repoId, string step, string what) =>
        new($"upload to model '{repoId}': the Hub's answer to {step} is not what huggingface_hub expects ({what}){(step == "commit" ? "" : "; nothing was committed")}.");
}
