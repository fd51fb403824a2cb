using System.Globalization;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace BertSharp.Tests.Checkpoints.Hub;

/// <summary>
/// The upload half of the fake Hub, answering what huggingface_hub sends (its source at commit ee0a451 of
/// huggingface/huggingface_hub): repo creation (hf_api.py create_repo, 4732-4843), repo_info of a revision (hf_api.py
/// model_info, 3322-3326), preupload (_commit_api.py _fetch_upload_modes, 742-779, with the oid of the file a path already
/// holds, which create_commit compares with _local_oid, _commit_api.py 286-307, to drop unchanged files: hf_api.py 5284-5332),
/// the LFS batch (lfs.py post_lfs_batch_info, 185-218), one-PUT and multipart transfers
/// with their completion and verify (lfs.py lfs_upload 270-310, _upload_single_part 351-368, _upload_multi_part 371-440),
/// and the NDJSON commit (_commit_api.py _prepare_commit_payload 903-960, _send_commit 1007-1073). Committed files are then
/// served by the resolve/CDN half, so an upload can be downloaded back.
/// </summary>
internal sealed partial class FakeHub
{
    public sealed record Commit(string RepoId, string Summary, string Description, string[] Paths);

    private readonly Lock _uploadLock = new();
    private readonly Dictionary<string, byte[]> _uploaded = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SortedDictionary<int, byte[]>> _parts = new(StringComparer.Ordinal);

    /// <summary>Preupload answers "lfs" for a file of at least this many bytes, or whose sample holds a NUL byte (binary).</summary>
    public int LfsThreshold { get; set; } = 1024;

    /// <summary>When set, LFS objects larger than this are asked for in parts of this size (multipart).</summary>
    public int? MultipartChunkSize { get; set; }

    /// <summary>Paths preupload marks shouldIgnore (as a repo's .gitignore would).</summary>
    public HashSet<string> IgnoredPaths { get; } = new(StringComparer.Ordinal);

    /// <summary>When set, uploads need this token (401 otherwise); <see cref="ReadOnlyTokens"/> get 403.</summary>
    public string? WriteToken { get; set; }

    public HashSet<string> ReadOnlyTokens { get; } = new(StringComparer.Ordinal);

    /// <summary>repo id → the "visibility" it was created with; null when the request left it to the namespace's default.</summary>
    public Dictionary<string, string?> Created { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// When set, the LFS batch's Hub URLs (verify, multipart completion) start with it instead of <see cref="Endpoint"/>, as
    /// the Hub behind a proxy (HF_ENDPOINT) writes its own https://huggingface.co in them.
    /// </summary>
    public string? HrefEndpoint { get; set; }

    /// <summary>When set, create answers 403, as for a token that may write to a namespace's repos but not create one there.</summary>
    public bool CreateForbidden { get; set; }

    public List<Commit> Commits { get; } = [];

    /// <summary>File contents received: each storage PUT (a whole LFS file or one part) and each base64 file line of a commit.</summary>
    public int FileBodies
    {
        get
        {
            lock (_uploadLock)
            {
                return _fileBodies;
            }
        }
    }

    private int _fileBodies;

    /// <summary>The most objects one LFS batch request may ask about (huggingface_hub's UPLOAD_BATCH_MAX_NUM_FILES).</summary>
    public const int MaxBatchObjects = 256;

    private static string Md5(byte[] b) => Convert.ToHexStringLower(MD5.HashData(b));

    private static async Task<byte[]> ReadBody(NetworkStream stream, Dictionary<string, string> headers)
    {
        // The client must announce its bodies' length (the fake, like the storage behind the Hub, reads no chunked bodies).
        if (!headers.TryGetValue("Content-Length", out var length))
        {
            return [];
        }
        var body = new byte[int.Parse(length, CultureInfo.InvariantCulture)];
        await stream.ReadExactlyAsync(body);
        return body;
    }

    /// <summary>Answers an upload request; false when it is none (then the download half answers).</summary>
    private async Task<bool> ServeUpload(NetworkStream stream, Request req, bool cdn)
    {
        var path = req.Path;
        if (cdn)
        {
            return await ServeStoragePut(stream, req);
        }
        if (HubStatus is { } status)
        {
            await Respond(stream, req, status, HubStatusHeaders, []);
            return true;
        }
        if ((ApiRedirect?.Invoke(req) is { } to && to.Status is 307 or 308 ? to : RenamedApiPath(path)) is ({ } location, var code))
        {
            await Respond(stream, req, code, [("Location", location)], []);
            return true;
        }
        if (req.Method == "GET")
        {
            // hf_api.repo_info: GET /api/models/{repo_id}[/revision/{quoted revision}], the public repos of this fake readable
            // by anyone; "sha" is the revision's head, which create_commit returns when it commits nothing.
            var id = path["/api/models/".Length..];
            int rev = id.IndexOf("/revision/", StringComparison.Ordinal);
            var revision = rev < 0 ? "main" : Uri.UnescapeDataString(id[(rev + "/revision/".Length)..]);
            id = rev < 0 ? id : id[..rev];
            string? sha;
            lock (_uploadLock)
            {
                sha = _repos.TryGetValue(id, out var repo) ? repo.Commit : null;
            }
            if (sha is not null && revision != "main")
            {
                await Respond(stream, req, 404, [("X-Error-Code", "RevisionNotFound"), ("X-Error-Message", $"Invalid rev id: {revision}")], []);
                return true;
            }
            await Json(stream, req, sha is null ? 404 : 200, sha is null ? new JsonObject { ["error"] = "Repository not found" } : new JsonObject { ["id"] = id, ["sha"] = sha });
            return true;
        }
        var handled = path == "/api/repos/create" || path.StartsWith("/api/models/", StringComparison.Ordinal)
            || path.Contains(".git/info/lfs/", StringComparison.Ordinal) || path.StartsWith("/__lfs/complete/", StringComparison.Ordinal);
        if (!handled)
        {
            return false;
        }
        // hf_api.py create_repo and _commit_api.py send build_hf_headers' "authorization: Bearer <token>"; the multipart
        // completion (lfs.py 385-390) carries only the LFS headers.
        if (!path.StartsWith("/__lfs/complete/", StringComparison.Ordinal) && WriteToken is { } token && req.Authorization != "Bearer " + token)
        {
            bool readOnly = req.Authorization is { } a && ReadOnlyTokens.Contains(a["Bearer ".Length..]);
            await Json(stream, req, readOnly ? 403 : 401, readOnly
                ? new JsonObject { ["error"] = "You don't have the rights to write to this repo" }
                : new JsonObject { ["error"] = "Invalid credentials in Authorization header" });
            return true;
        }
        if (path == "/api/repos/create")
        {
            await CreateRepo(stream, req);
        }
        else if (path.Contains(".git/info/lfs/objects/batch", StringComparison.Ordinal))
        {
            await Batch(stream, req, path[1..path.IndexOf(".git/", StringComparison.Ordinal)]);
        }
        else if (path.Contains(".git/info/lfs/objects/verify", StringComparison.Ordinal))
        {
            await Verify(stream, req);
        }
        else if (path.StartsWith("/__lfs/complete/", StringComparison.Ordinal))
        {
            await Complete(stream, req, path["/__lfs/complete/".Length..]);
        }
        else
        {
            // /api/models/{org}/{name}/{preupload|commit}/{quoted revision}
            var rest = path["/api/models/".Length..];
            int at = rest.LastIndexOf('/');
            int kind = rest.LastIndexOf('/', at - 1);
            var repoId = rest[..kind];
            var action = rest[(kind + 1)..at];
            var revision = Uri.UnescapeDataString(rest[(at + 1)..]);
            if (!_repos.ContainsKey(repoId))
            {
                await Respond(stream, req, 404, [("X-Error-Code", "RepoNotFound"), ("X-Error-Message", "Repository not found")], []);
            }
            else if (revision != "main")
            {
                await Respond(stream, req, 404, [("X-Error-Code", "RevisionNotFound"), ("X-Error-Message", $"Invalid rev id: {revision}")], []);
            }
            else if (action == "preupload")
            {
                await Preupload(stream, req, repoId);
            }
            else
            {
                await CommitFiles(stream, req, repoId);
            }
        }
        return true;
    }

    /// <summary>
    /// Answers the request with a redirect when it gives a Location (and 307 or 308), before anything else: a moved API, a
    /// loop, another host.
    /// </summary>
    public Func<Request, (string? Location, int Status)>? ApiRedirect { get; set; }

    /// <summary>The Hub's relative 307 for a renamed repo's API and LFS paths (repo_info, preupload, commit, LFS batch, verify).</summary>
    private (string?, int) RenamedApiPath(string path)
    {
        foreach (var (old, renamed) in Renamed)
        {
            foreach (var prefix in (string[])["/api/models/", "/"])
            {
                var from = prefix + old + (prefix == "/" ? ".git/" : "/");
                if (path.StartsWith(from, StringComparison.Ordinal) || path == "/api/models/" + old)
                {
                    var to = path == "/api/models/" + old ? "/api/models/" + renamed : prefix + renamed + from[(prefix.Length + old.Length)..] + path[from.Length..];
                    return (to, 307);
                }
            }
        }
        return (null, 0);
    }

    private async Task CreateRepo(NetworkStream stream, Request req)
    {
        var body = JsonNode.Parse(req.Body)!.AsObject();
        if (CreateForbidden)
        {
            await Json(stream, req, 403, new JsonObject { ["error"] = $"You don't have the rights to create a model under the namespace \"{body["organization"]}\"" });
            return;
        }
        // hf_api.create_repo sends only {"name", "organization", "type"} and, when the caller chose one, "visibility"
        // ("private" or "public", from _resolve_repo_visibility); a visibility it did not choose is the namespace's default.
        if (body.Select(kv => kv.Key).FirstOrDefault(k => k is not ("name" or "organization" or "type" or "visibility")) is { } unknown)
        {
            await Json(stream, req, 400, new JsonObject { ["error"] = $"huggingface_hub's create_repo sends no '{unknown}'" });
            return;
        }
        var visibility = body["visibility"]?.GetValue<string>();
        if (visibility is not (null or "private" or "public"))
        {
            await Json(stream, req, 400, new JsonObject { ["error"] = $"visibility '{visibility}' is not private or public" });
            return;
        }
        var org = body["organization"]?.GetValue<string>();
        var repoId = org is null ? body["name"]!.GetValue<string>() : org + "/" + body["name"]!.GetValue<string>();
        lock (_uploadLock)
        {
            if (_repos.ContainsKey(repoId))
            {
                repoId = "";
            }
            else
            {
                _repos[repoId] = (GitSha1(Encoding.UTF8.GetBytes(repoId)), new Dictionary<string, HubEntry>(StringComparer.Ordinal));
                Created[repoId] = visibility;
            }
        }
        await Json(stream, req, repoId.Length == 0 ? 409 : 200, repoId.Length == 0
            ? new JsonObject { ["error"] = "You already created this model repo" }
            : new JsonObject { ["url"] = $"{Endpoint}/{repoId}" });
    }

    private async Task Preupload(NetworkStream stream, Request req, string repoId)
    {
        var files = new JsonArray();
        foreach (var f in JsonNode.Parse(req.Body)!["files"]!.AsArray())
        {
            var sample = Convert.FromBase64String(f!["sample"]!.GetValue<string>());
            bool lfs = f["size"]!.GetValue<long>() >= LfsThreshold || sample.Contains((byte)0);
            var p = f["path"]!.GetValue<string>();
            var file = new JsonObject { ["path"] = p, ["uploadMode"] = lfs ? "lfs" : "regular", ["shouldIgnore"] = IgnoredPaths.Contains(p) };
            HubEntry? held;
            lock (_uploadLock)
            {
                held = _repos[repoId].Files.GetValueOrDefault(p);
            }
            // As the Hub answers (huggingface_hub's tests/cassettes/TestSpaceAPIProduction.test_pause_and_restart_space.yaml:
            // no "oid" for a new path, line 79; the git blob sha1 of the file there, line 249), and for an LFS file the
            // sha256 of its content (_commit_api.py _local_oid, 286-307: "For LFS files, the OID corresponds to the SHA256").
            if (held is not null)
            {
                file["oid"] = held.Lfs ? Sha256(held.Content) : GitSha1(held.Content);
            }
            files.Add(file);
        }
        await Json(stream, req, 200, new JsonObject { ["files"] = files });
    }

    private async Task Batch(NetworkStream stream, Request req, string repoId)
    {
        var asked = JsonNode.Parse(req.Body)!["objects"]!.AsArray();
        // _commit_api.py asks the batch endpoint about UPLOAD_BATCH_MAX_NUM_FILES = 256 objects at a time ("to avoid reaching
        // the payload limit"); the fake refuses more, as a request the real client never makes.
        if (asked.Count > MaxBatchObjects)
        {
            await Json(stream, req, 413, new JsonObject { ["error"] = FormattableString.Invariant($"{asked.Count} objects in one LFS batch; huggingface_hub sends at most {MaxBatchObjects}") });
            return;
        }
        var objects = new JsonArray();
        foreach (var o in asked)
        {
            var oid = o!["oid"]!.GetValue<string>();
            long size = o["size"]!.GetValue<long>();
            bool stored;
            lock (_uploadLock)
            {
                stored = _lfs.ContainsKey(oid) || _uploaded.ContainsKey(oid);
            }
            var entry = new JsonObject { ["oid"] = oid, ["size"] = size };
            if (!stored)
            {
                var verify = new JsonObject { ["href"] = $"{HrefEndpoint ?? Endpoint}/{repoId}.git/info/lfs/objects/verify" };
                JsonObject upload;
                if (MultipartChunkSize is { } chunk && size > chunk)
                {
                    // The Hub sends chunk_size as a string and zero-padded part numbers; lfs.py 286-295 and 394-410 parse both.
                    var header = new JsonObject { ["chunk_size"] = chunk.ToString(CultureInfo.InvariantCulture) };
                    for (int i = 1; i <= (size + chunk - 1) / chunk; i++)
                    {
                        header[i.ToString("00000", CultureInfo.InvariantCulture)] = $"http://127.0.0.1:{CdnPort}/part/{oid}/{i}";
                    }
                    upload = new JsonObject { ["href"] = $"{HrefEndpoint ?? Endpoint}/__lfs/complete/{oid}", ["header"] = header };
                }
                else
                {
                    upload = new JsonObject { ["href"] = $"http://127.0.0.1:{CdnPort}/upload/{oid}" };
                }
                entry["actions"] = new JsonObject { ["upload"] = upload, ["verify"] = verify };
            }
            objects.Add(entry);
        }
        await Json(stream, req, 200, new JsonObject { ["transfer"] = "basic", ["objects"] = objects });
    }

    private async Task<bool> ServeStoragePut(NetworkStream stream, Request req)
    {
        var parts = req.Path.Split('/');
        lock (_uploadLock)
        {
            _fileBodies++;
            if (parts[1] == "upload")
            {
                _uploaded[parts[2]] = req.Body;
            }
            else
            {
                if (!_parts.TryGetValue(parts[2], out var list))
                {
                    _parts[parts[2]] = list = [];
                }
                list[int.Parse(parts[3], CultureInfo.InvariantCulture)] = req.Body;
            }
        }
        // S3 answers each PUT with the part's MD5 as a quoted ETag.
        await Respond(stream, req, 200, [("ETag", $"\"{Md5(req.Body)}\"")], []);
        return true;
    }

    private async Task Complete(NetworkStream stream, Request req, string oid)
    {
        var body = JsonNode.Parse(req.Body)!;
        bool ok;
        lock (_uploadLock)
        {
            var stored = _parts.GetValueOrDefault(oid) ?? [];
            var listed = body["parts"]!.AsArray();
            ok = body["oid"]!.GetValue<string>() == oid && listed.Count == stored.Count
                && listed.Select((p, i) => p!["partNumber"]!.GetValue<int>() == i + 1 && stored.TryGetValue(i + 1, out var b)
                    && p["etag"]!.GetValue<string>() == $"\"{Md5(b)}\"").All(x => x);
            if (ok)
            {
                _uploaded[oid] = [.. stored.Values.SelectMany(b => b)];
            }
        }
        await Json(stream, req, ok ? 200 : 400, ok ? new JsonObject() : new JsonObject { ["error"] = "parts do not match the uploaded ones" });
    }

    private async Task Verify(NetworkStream stream, Request req)
    {
        var body = JsonNode.Parse(req.Body)!;
        var oid = body["oid"]!.GetValue<string>();
        bool ok;
        lock (_uploadLock)
        {
            ok = _uploaded.TryGetValue(oid, out var content) && content.Length == body["size"]!.GetValue<long>() && Sha256(content) == oid;
        }
        await Json(stream, req, ok ? 200 : 404, ok ? new JsonObject { ["success"] = true } : new JsonObject { ["error"] = "object not found or corrupt" });
    }

    private async Task CommitFiles(NetworkStream stream, Request req, string repoId)
    {
        var lines = Encoding.UTF8.GetString(req.Body).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        var header = lines[0]["value"]!;
        string? missing = null;
        string commit;
        lock (_uploadLock)
        {
            var (_, old) = _repos[repoId];
            var files = new Dictionary<string, HubEntry>(old, StringComparer.Ordinal);
            foreach (var line in lines.Skip(1))
            {
                var value = line["value"]!;
                var p = value["path"]!.GetValue<string>();
                if (line["key"]!.GetValue<string>() == "file")
                {
                    files[p] = new HubEntry(Convert.FromBase64String(value["content"]!.GetValue<string>()), Lfs: false);
                    _fileBodies++;
                    continue;
                }
                var oid = value["oid"]!.GetValue<string>();
                if (!_uploaded.TryGetValue(oid, out var content) && !_lfs.TryGetValue(oid, out content))
                {
                    missing = p;
                    break;
                }
                _lfs[oid] = content;
                files[p] = new HubEntry(content, Lfs: true);
            }
            commit = GitSha1(req.Body);
            if (missing is null)
            {
                _repos[repoId] = (commit, files);
                Commits.Add(new Commit(repoId, header["summary"]!.GetValue<string>(), header["description"]!.GetValue<string>(),
                    [.. lines.Skip(1).Select(l => l["value"]!["path"]!.GetValue<string>())]));
            }
        }
        await Json(stream, req, missing is null ? 200 : 422, missing is null
            ? new JsonObject { ["success"] = true, ["commitOid"] = commit, ["commitUrl"] = $"{Endpoint}/{repoId}/commit/{commit}", ["pullRequestUrl"] = null }
            : new JsonObject { ["error"] = $"LFS object of {missing} was not uploaded" });
    }

    private static Task Json(NetworkStream stream, Request req, int status, JsonObject body) =>
        Respond(stream, req, status, [("Content-Type", "application/json")], Encoding.UTF8.GetBytes(body.ToJsonString()));
}
