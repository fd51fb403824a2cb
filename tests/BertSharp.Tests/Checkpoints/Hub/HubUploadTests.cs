using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using BertSharp.Checkpoints;
using BertSharp.Tests.Distributed;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Checkpoints.Hub;

/// <summary>
/// <c>bert upload</c> and <see cref="HubClient.UploadFolder"/> against <see cref="FakeHub"/>, each request checked as
/// huggingface_hub sends it (the lines of its source are cited in FakeHub.Upload.cs), and every upload downloaded back.
/// Serial: the CLI finds its token in HF_TOKEN, which these tests set.
/// </summary>
[Collection(SerialCollection.Name)]
[Trait(SerialCollection.TraitName, SerialCollection.TraitValue)]
public sealed partial class HubUploadTests : IDisposable
{
    private const string Token = "hf_write";
    private readonly FakeHub _hub = new() { WriteToken = Token };
    private readonly TempDir _tmp = TestPaths.TempDir();

    // Text under the fake's LFS threshold goes to git; the weights hold NUL bytes, which the Hub reads as binary (LFS).
    private static readonly byte[] Config = Encoding.UTF8.GetBytes("{\"model_type\": \"bert\", \"hidden_size\": 64}\n");
    private static readonly byte[] Weights = [.. Enumerable.Range(0, 100).Select(i => (byte)(i * 7 % 256))];
    private static readonly byte[] Vocab = Encoding.UTF8.GetBytes(string.Join('\n', Enumerable.Range(0, 120).Select(i => "w" + i.ToString("000", System.Globalization.CultureInfo.InvariantCulture))) + "\n");
    private static readonly byte[] Modules = Encoding.UTF8.GetBytes("[{\"idx\": 0, \"name\": \"0\", \"path\": \"\", \"type\": \"sentence_transformers.models.Transformer\"}, {\"idx\": 1, \"name\": \"1\", \"path\": \"1_Pooling\", \"type\": \"sentence_transformers.models.Pooling\"}]\n");
    private static readonly byte[] Pooling = Encoding.UTF8.GetBytes("{\"word_embedding_dimension\": 64, \"pooling_mode_mean_tokens\": true}\n");

    public void Dispose()
    {
        _hub.Dispose();
        _tmp.Dispose();
    }

    private HubOptions Options(string? token = Token) =>
        new() { Endpoint = _hub.Endpoint, CacheDir = Path.Combine(_tmp.Path, "cache"), Token = token, ReadTimeout = TimeSpan.FromSeconds(20) };

    /// <summary>A fine-tuned model's directory as bert writes it, with what an upload leaves out beside it.</summary>
    private string ModelDir(string name = "model", byte[]? weights = null)
    {
        var dir = Path.Combine(_tmp.Path, name);
        Directory.CreateDirectory(Path.Combine(dir, "1_Pooling"));
        Directory.CreateDirectory(Path.Combine(dir, "checkpoint-3"));
        File.WriteAllBytes(Path.Combine(dir, "config.json"), Config);
        File.WriteAllBytes(Path.Combine(dir, "model.safetensors"), weights ?? Weights);
        File.WriteAllBytes(Path.Combine(dir, "vocab.txt"), Vocab);
        File.WriteAllBytes(Path.Combine(dir, "modules.json"), Modules);
        File.WriteAllBytes(Path.Combine(dir, "1_Pooling", "config.json"), Pooling);
        File.WriteAllText(Path.Combine(dir, "train_log.jsonl"), "{\"step\": 1, \"loss\": 0.5}\n");
        File.WriteAllText(Path.Combine(dir, ".bertsharp"), "config.json\n");
        File.WriteAllBytes(Path.Combine(dir, "checkpoint-3", "model.safetensors"), Weights);
        return dir;
    }

    private List<FakeHub.Request> HubRequests(string method, string path) =>
        [.. _hub.Requests.Where(r => r.Method == method && r.Path.Contains(path, StringComparison.Ordinal))];

    private static JsonNode Body(FakeHub.Request r) => JsonNode.Parse(r.Body)!;

    [Fact]
    public void An_uploaded_model_downloads_back_byte_identical_and_each_request_is_huggingface_hubs()
    {
        _hub.AddRepo("org/up");
        var dir = ModelDir();
        // A fine-tuned directory's model card goes with it, as a regular file (the Hub shows it as the model's page).
        var card = Encoding.UTF8.GetBytes("---\nlibrary_name: transformers\n---\n\n# model\n");
        File.WriteAllBytes(Path.Combine(dir, "README.md"), card);
        HubUploadResult result;
        using (var client = new HubClient(Options()))
        {
            result = client.UploadFolder(dir, "org/up", new HubUploadOptions { CommitMessage = "fine-tuned", CommitDescription = "sst2" });
        }

        string[] uploaded = ["1_Pooling/config.json", "README.md", "config.json", "model.safetensors", "modules.json", "train_log.jsonl", "vocab.txt"];
        Assert.Equal(uploaded, result.Files.Select(f => f.Name));
        Assert.Equal(HubUploadMode.Lfs, Assert.Single(result.Files, f => f.Mode != HubUploadMode.Regular).Mode);
        var commit = Assert.Single(_hub.Commits);
        Assert.Equal(("fine-tuned", "sst2"), (commit.Summary, commit.Description));
        Assert.Equal(result.CommitOid, FakeHub.GitSha1(Assert.Single(HubRequests("POST", "/commit/")).Body));
        Assert.Equal($"{_hub.Endpoint}/org/up/commit/{result.CommitOid}", result.CommitUrl);

        // Preupload: each file's path, size and the base64 of its first 512 bytes (vocab.txt is longer).
        var pre = Assert.Single(HubRequests("POST", "/api/models/org/up/preupload/main"));
        Assert.Equal("Bearer " + Token, pre.Authorization);
        var files = Body(pre)["files"]!.AsArray();
        Assert.Equal(uploaded, files.Select(f => f!["path"]!.GetValue<string>()));
        var vocab = files.Single(f => f!["path"]!.GetValue<string>() == "vocab.txt")!;
        Assert.Equal(Vocab.Length, vocab["size"]!.GetValue<long>());
        Assert.Equal(Convert.ToBase64String(Vocab.AsSpan(0, 512)), vocab["sample"]!.GetValue<string>());

        // The LFS batch, with the LFS media type both ways; the PUT to storage carries no Hub token; verify does.
        var sha = FakeHub.Sha256(Weights);
        var batch = Assert.Single(HubRequests("POST", "/org/up.git/info/lfs/objects/batch"));
        Assert.Equal(("application/vnd.git-lfs+json", "application/vnd.git-lfs+json"), (batch.Accept, batch.ContentType));
        Assert.Equal($"{{\"operation\":\"upload\",\"transfers\":[\"basic\",\"multipart\"],\"objects\":[{{\"oid\":\"{sha}\",\"size\":100}}],\"hash_algo\":\"sha256\",\"ref\":{{\"name\":\"main\"}}}}",
            Encoding.UTF8.GetString(batch.Body));
        var put = Assert.Single(_hub.Requests, r => r.Method == "PUT");
        Assert.Equal(($"/upload/{sha}", null), (put.Path, put.Authorization));
        Assert.Equal(Weights, put.Body);
        var verify = Assert.Single(HubRequests("POST", "/lfs/objects/verify"));
        Assert.Equal($"{{\"oid\":\"{sha}\",\"size\":100}}", Encoding.UTF8.GetString(verify.Body));
        Assert.Equal("Bearer " + Token, verify.Authorization);

        // The commit: NDJSON, a header line, then a base64 file line per regular file and an lfsFile line for the weights.
        var ndjson = Assert.Single(HubRequests("POST", "/api/models/org/up/commit/main"));
        Assert.Equal("application/x-ndjson", ndjson.ContentType);
        var lines = Encoding.UTF8.GetString(ndjson.Body).Split('\n');
        Assert.Equal("", lines[^1]);
        Assert.Equal("{\"key\":\"header\",\"value\":{\"summary\":\"fine-tuned\",\"description\":\"sst2\"}}", lines[0]);
        Assert.Equal($"{{\"key\":\"file\",\"value\":{{\"content\":\"{Convert.ToBase64String(card)}\",\"path\":\"README.md\",\"encoding\":\"base64\"}}}}", lines[2]);
        Assert.Equal($"{{\"key\":\"file\",\"value\":{{\"content\":\"{Convert.ToBase64String(Config)}\",\"path\":\"config.json\",\"encoding\":\"base64\"}}}}", lines[3]);
        Assert.Equal($"{{\"key\":\"lfsFile\",\"value\":{{\"path\":\"model.safetensors\",\"algo\":\"sha256\",\"oid\":\"{sha}\",\"size\":100}}}}", lines[4]);

        // Downloaded back with the download half of the client: the same bytes.
        using var down = new HubClient(Options());
        var snapshot = down.DownloadModel("org/up").SnapshotDir;
        Assert.Equal(result.CommitOid, Path.GetFileName(snapshot));
        foreach (var name in new[] { "config.json", "model.safetensors", "vocab.txt", "modules.json", "1_Pooling/config.json" })
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(dir, name)), File.ReadAllBytes(Path.Combine(snapshot, name)));
        }
    }

    [Fact]
    public void A_multipart_upload_puts_each_chunk_and_completes_with_the_parts_etags()
    {
        _hub.AddRepo("org/big");
        _hub.MultipartChunkSize = 40;
        _hub.IgnoredPaths.Add("train_log.jsonl");
        var dir = ModelDir();
        using (var client = new HubClient(Options()))
        {
            // A path the repo's .gitignore ignores (preupload's shouldIgnore) stays out of the commit, as _prepare_commit_payload leaves it.
            var result = client.UploadFolder(dir, "org/big");
            Assert.Equal(HubUploadMode.Ignored, result.Files.Single(f => f.Name == "train_log.jsonl").Mode);
            Assert.DoesNotContain("train_log.jsonl", Assert.Single(_hub.Commits).Paths);
        }
        var sha = FakeHub.Sha256(Weights);
        var puts = _hub.Requests.Where(r => r.Method == "PUT").OrderBy(r => r.Path, StringComparer.Ordinal).ToList();
        Assert.Equal([$"/part/{sha}/1", $"/part/{sha}/2", $"/part/{sha}/3"], puts.Select(p => p.Path));
        Assert.Equal([Weights[..40], Weights[40..80], Weights[80..]], puts.Select(p => p.Body));
        var completion = Assert.Single(HubRequests("POST", "/__lfs/complete/"));
        var etags = puts.Select((p, i) => $"{{\"partNumber\":{i + 1},\"etag\":\"\\u0022{Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(p.Body))}\\u0022\"}}");
        Assert.Equal($"{{\"oid\":\"{sha}\",\"parts\":[{string.Join(',', etags)}]}}", Encoding.UTF8.GetString(completion.Body));
        Assert.Equal(("application/vnd.git-lfs+json", "application/vnd.git-lfs+json", null), (completion.Accept, completion.ContentType, completion.Authorization));

        using var down = new HubClient(Options());
        Assert.Equal(Weights, File.ReadAllBytes(Path.Combine(down.DownloadModel("org/big").SnapshotDir, "model.safetensors")));
    }

    [Fact]
    public void Lfs_content_the_hub_already_holds_is_named_in_the_commit_but_not_sent()
    {
        _hub.AddRepo("org/first");
        _hub.AddRepo("org/second");
        var dir = ModelDir();
        using var client = new HubClient(Options());
        client.UploadFolder(dir, "org/first");
        Assert.Single(_hub.Requests, r => r.Method == "PUT");

        var again = client.UploadFolder(dir, "org/second");
        Assert.Single(_hub.Requests, r => r.Method == "PUT");
        Assert.Single(HubRequests("POST", "/lfs/objects/verify"));
        Assert.Equal(HubUploadMode.LfsAlreadyOnHub, again.Files.Single(f => f.Name == "model.safetensors").Mode);
        Assert.Contains("model.safetensors", _hub.Commits[1].Paths);
        using var down = new HubClient(Options());
        Assert.Equal(Weights, File.ReadAllBytes(Path.Combine(down.DownloadModel("org/second").SnapshotDir, "model.safetensors")));
    }

    [Fact]
    public void A_new_repo_without_private_takes_its_namespaces_default_visibility()
    {
        using var client = new HubClient(Options());
        client.UploadFolder(ModelDir(), "solo", new HubUploadOptions { CreateRepo = true });
        Assert.Equal("{\"name\":\"solo\",\"organization\":null,\"type\":\"model\"}",
            Encoding.UTF8.GetString(Assert.Single(HubRequests("POST", "/api/repos/create")).Body));
        Assert.Null(_hub.Created["solo"]);
        Assert.Single(_hub.Commits);
    }

    [Fact]
    public void Create_where_the_token_may_write_but_not_create_goes_on_when_the_repo_exists()
    {
        // hf_api.create_repo(exist_ok=True): a 401, 402 or 403 from /api/repos/create (a token without the namespace's create
        // right) is passed over when repo_info (GET /api/models/{repo_id}) finds the repo; otherwise that refusal stands.
        _hub.AddRepo("org/up");
        _hub.CreateForbidden = true;
        using var client = new HubClient(Options());
        client.UploadFolder(ModelDir(), "org/up", new HubUploadOptions { CreateRepo = true });
        Assert.Single(_hub.Commits);
        Assert.Equal("Bearer " + Token, Assert.Single(_hub.Requests, r => r.Method == "GET" && r.Path == "/api/models/org/up").Authorization);

        var e = Assert.Throws<BertSharpException>(() => client.UploadFolder(ModelDir("other"), "org/none", new HubUploadOptions { CreateRepo = true }));
        Assert.Equal($"upload to model 'org/none' on {_hub.Endpoint}: creating the repo answered HTTP 403 Forbidden: You don't have the rights to create a model "
            + "under the namespace \"org\"; check that HF_TOKEN grants write access to it.", e.Message);
        Assert.Single(_hub.Commits);
        Assert.DoesNotContain(_hub.Requests, r => r.Path.Contains("org/none/preupload", StringComparison.Ordinal));
    }

    [Fact]
    public void Behind_a_proxy_the_hubs_own_urls_in_lfs_actions_go_to_the_endpoint()
    {
        // lfs.lfs_upload passes the upload and verify hrefs through fix_hf_endpoint_in_url (utils/_http.py): with an endpoint
        // other than https://huggingface.co, the Hub's https://huggingface.co in them is replaced by the endpoint.
        _hub.AddRepo("org/big");
        _hub.MultipartChunkSize = 40;
        _hub.HrefEndpoint = "https://huggingface.co";
        using var client = new HubClient(Options());
        client.UploadFolder(ModelDir(), "org/big");
        Assert.Single(_hub.Commits);
        Assert.Equal("Bearer " + Token, Assert.Single(HubRequests("POST", "/org/big.git/info/lfs/objects/verify")).Authorization);
        Assert.Null(Assert.Single(HubRequests("POST", "/__lfs/complete/")).Authorization);
    }

    [Fact]
    public void A_folder_of_more_lfs_files_than_one_batch_takes_is_asked_about_in_batches_of_256()
    {
        // _commit_api._upload_lfs_files: chunk_iterable(additions, chunk_size=UPLOAD_BATCH_MAX_NUM_FILES), 256.
        _hub.AddRepo("org/many");
        _hub.LfsThreshold = 1;
        var dir = ModelDir();
        Directory.CreateDirectory(Path.Combine(dir, "eval"));
        for (int i = 0; i < 300; i++)
        {
            File.WriteAllText(Path.Combine(dir, "eval", i.ToString("000", CultureInfo.InvariantCulture) + ".txt"), i.ToString(CultureInfo.InvariantCulture));
        }
        using var client = new HubClient(Options());
        var result = client.UploadFolder(dir, "org/many");

        var batches = HubRequests("POST", "/org/many.git/info/lfs/objects/batch").Select(b => Body(b)["objects"]!.AsArray().Count).ToList();
        // 306 files of 306 distinct contents: one batch of 256 objects, then one of 50.
        Assert.Equal([256, 50], batches);
        Assert.All(result.Files, f => Assert.Equal(HubUploadMode.Lfs, f.Mode));
        Assert.Equal(306, Assert.Single(_hub.Commits).Paths.Length);
    }

    [Fact]
    public void The_revision_goes_url_encoded_as_one_path_segment()
    {
        _hub.AddRepo("org/up");
        using var client = new HubClient(Options() with { Revision = "refs/pr/1" });
        Assert.Equal($"upload to model 'org/up' on {_hub.Endpoint}: preupload answered HTTP 404 NotFound: Invalid rev id: refs/pr/1; "
            + "make the branch on the Hub first, or give another revision.",
            Assert.Throws<BertSharpException>(() => client.UploadFolder(ModelDir(), "org/up")).Message);
        Assert.EndsWith("/api/models/org/up/preupload/refs%2Fpr%2F1", Assert.Single(_hub.Requests).Path, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_a_token_the_upload_is_one_line_saying_how_to_set_one()
    {
        _hub.AddRepo("org/up");
        var dir = ModelDir();
        using (new EnvScope(("HF_TOKEN", null), ("HUGGING_FACE_HUB_TOKEN", null), ("HF_TOKEN_PATH", Path.Combine(_tmp.Path, "no-token"))))
        {
            CliRunner.Run("upload", "--model", dir, "--repo", "org/up", "--endpoint", _hub.Endpoint)
                .AssertOneLineError("error: uploading to model 'org/up' needs a Hub token with write access: set HF_TOKEN, or log in with 'hf auth login'");
        }
        Assert.Empty(_hub.Requests);
    }

    [Fact]
    public void Hub_refusals_are_one_line_naming_the_repo_the_status_and_the_hubs_reason()
    {
        _hub.AddRepo("org/up");
        _hub.ReadOnlyTokens.Add("hf_read");
        var dir = ModelDir();
        string Refused(string token, string repo)
        {
            using var env = new EnvScope(("HF_TOKEN", token));
            return CliRunner.Run("upload", "--model", dir, "--repo", repo, "--endpoint", _hub.Endpoint).AssertOneLineError();
        }
        Assert.Equal($"error: upload to model 'org/up' on {_hub.Endpoint}: preupload answered HTTP 401 Unauthorized: Invalid credentials in Authorization header; "
            + "set HF_TOKEN to a token with write access (or log in with 'hf auth login').", Refused("hf_wrong", "org/up"));
        Assert.Equal($"error: upload to model 'org/up' on {_hub.Endpoint}: preupload answered HTTP 403 Forbidden: You don't have the rights to write to this repo; "
            + "check that HF_TOKEN grants write access to it.", Refused("hf_read", "org/up"));
        // The Hub's X-Error-Message, and the flag that creates a missing repo.
        Assert.Equal($"error: upload to model 'org/none' on {_hub.Endpoint}: preupload answered HTTP 404 NotFound: Repository not found; if it does not exist yet, add --create.",
            Refused(Token, "org/none"));
        Assert.Empty(_hub.Commits);
    }

    [Fact]
    public void Create_makes_the_repo_private_when_asked_and_an_existing_one_is_used()
    {
        var dir = ModelDir();
        using var env = new EnvScope(("HF_TOKEN", Token));
        var r = CliRunner.Run("upload", "--model", dir, "--repo", "org/new", "--create", "--private", "--message", "first", "--endpoint", _hub.Endpoint);
        Assert.True(r.ExitCode == 0, r.StdErr);
        var create = Assert.Single(HubRequests("POST", "/api/repos/create"));
        // hf_api.create_repo today: _resolve_repo_visibility(private=True) → "visibility": "private", before "type".
        Assert.Equal("{\"name\":\"new\",\"organization\":\"org\",\"visibility\":\"private\",\"type\":\"model\"}", Encoding.UTF8.GetString(create.Body));
        Assert.Equal("Bearer " + Token, create.Authorization);
        Assert.Equal("private", _hub.Created["org/new"]);
        var lines = r.StdOut.TrimEnd().Split('\n');
        Assert.Equal("first", _hub.Commits[0].Summary);
        Assert.Equal($"org/new @ {FakeHub.GitSha1(HubRequests("POST", "/commit/")[0].Body)}", lines[^2]);
        Assert.StartsWith("model.safetensors", Assert.Single(lines, l => l.EndsWith("uploaded (LFS)", StringComparison.Ordinal)), StringComparison.Ordinal);

        // 409: the repo exists, which --create accepts (exist_ok), and the upload goes on (with a file changed, to commit).
        File.AppendAllText(Path.Combine(dir, "train_log.jsonl"), "{\"step\": 2, \"loss\": 0.4}\n");
        var again = CliRunner.Run("upload", "--model", dir, "--repo", "org/new", "--create", "--endpoint", _hub.Endpoint);
        Assert.True(again.ExitCode == 0, again.StdErr);
        // Without --private no visibility is sent (create_repo's private=None): the Hub applies the namespace's default,
        // which an organisation may have set to private; sending "public" (or "private": false) would override it.
        Assert.Equal("{\"name\":\"new\",\"organization\":\"org\",\"type\":\"model\"}", Encoding.UTF8.GetString(HubRequests("POST", "/api/repos/create")[1].Body));
        Assert.Equal(2, HubRequests("POST", "/api/repos/create").Count);
        Assert.Equal(2, _hub.Commits.Count);
        Assert.Equal("Upload model using BertSharp", _hub.Commits[1].Summary);

        int before = _hub.Requests.Count;
        CliRunner.Run("upload", "--model", dir, "--repo", "org/other", "--private", "--endpoint", _hub.Endpoint)
            .AssertOneLineError("error: --private applies when the repo is created: add --create");
        Assert.Equal(before, _hub.Requests.Count);
    }

    [Fact]
    public void A_directory_that_is_not_a_model_is_refused_before_any_request()
    {
        using var env = new EnvScope(("HF_TOKEN", Token));
        var noWeights = Path.Combine(_tmp.Path, "no-weights");
        Directory.CreateDirectory(noWeights);
        File.WriteAllBytes(Path.Combine(noWeights, "config.json"), Config);
        CliRunner.Run("upload", "--model", noWeights, "--repo", "org/up", "--create", "--endpoint", _hub.Endpoint)
            .AssertOneLineError($"error: {noWeights}: no model weights found (looked for model.safetensors, model.safetensors.index.json, pytorch_model.bin, pytorch_model.bin.index.json).");
        var noConfig = ModelDir("no-config");
        File.Delete(Path.Combine(noConfig, "config.json"));
        CliRunner.Run("upload", "--model", noConfig, "--repo", "org/up", "--create", "--endpoint", _hub.Endpoint)
            .AssertOneLineError($"error: {noConfig}: no config.json: not a model directory; nothing was uploaded.");
        CliRunner.Run("upload", "--model", ModelDir(), "--repo", "org/bad name", "--create", "--endpoint", _hub.Endpoint)
            .AssertOneLineError("error: --repo 'org/bad name': expected a Hub model id");
        Assert.Empty(_hub.Requests);
    }
}
