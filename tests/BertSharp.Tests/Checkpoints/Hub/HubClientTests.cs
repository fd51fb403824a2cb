using System.Text;
using BertSharp.Checkpoints;
using BertSharp.IO;
using BertSharp.Runtime;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Checkpoints.Hub;

[Collection(SerialCollection.Name)]
[Trait(SerialCollection.TraitName, SerialCollection.TraitValue)]
public sealed class HubClientTests : IDisposable
{
    private readonly FakeHub _hub = new();
    private readonly TempDir _cache = TestPaths.TempDir();
    private static readonly byte[] Config = Encoding.UTF8.GetBytes("{\"model_type\": \"bert\", \"hidden_size\": 64}\n");
    private static readonly byte[] Vocab = Encoding.UTF8.GetBytes("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n");
    private static readonly byte[] TokCfg = Encoding.UTF8.GetBytes("{\"do_lower_case\": true}\n");
    private static readonly byte[] Weights = File.ReadAllBytes(CheckpointFixtures.PretrainingSafeTensors);

    public void Dispose()
    {
        _hub.Dispose();
        _cache.Dispose();
    }

    private HubOptions Options(bool offline = false, string? token = null) =>
        new() { Endpoint = _hub.Endpoint, CacheDir = _cache.Path, Offline = offline, Token = token, ReadTimeout = TimeSpan.FromSeconds(20) };

    private string AddTiny(string repo = "org/tiny") => _hub.AddRepo(repo,
        ("config.json", Config, false), ("model.safetensors", Weights, true), ("vocab.txt", Vocab, false), ("tokenizer_config.json", TokCfg, false));

    private string RepoDir(string repo = "org/tiny") => Path.Combine(_cache.Path, "models--" + repo.Replace("/", "--", StringComparison.Ordinal));

    [Fact]
    public void Download_writes_the_huggingface_hub_cache_layout()
    {
        var commit = AddTiny();
        using var client = new HubClient(Options());
        var result = client.DownloadModel("org/tiny");

        Assert.Equal(commit, result.Commit);
        var snapshot = Path.Combine(RepoDir(), "snapshots", commit);
        Assert.Equal(snapshot, result.SnapshotDir);
        Assert.Equal(commit, File.ReadAllText(Path.Combine(RepoDir(), "refs", "main")));
        // LFS file: blob named by sha256, snapshot entry a relative symlink to it.
        var sha = FakeHub.Sha256(Weights);
        var link = new FileInfo(Path.Combine(snapshot, "model.safetensors"));
        Assert.Equal(Path.Combine("..", "..", "blobs", sha), link.LinkTarget);
        Assert.Equal(Weights, File.ReadAllBytes(link.FullName));
        // git-stored file: blob named by the git sha1 ETag.
        Assert.Equal(Config, File.ReadAllBytes(Path.Combine(RepoDir(), "blobs", FakeHub.GitSha1(Config))));
        Assert.Equal(Vocab, File.ReadAllBytes(Path.Combine(snapshot, "vocab.txt")));
        Assert.Equal(TokCfg, File.ReadAllBytes(Path.Combine(snapshot, "tokenizer_config.json")));
        // Optional files the repo lacks are remembered as absent, as huggingface_hub does.
        Assert.True(File.Exists(Path.Combine(RepoDir(), ".no_exist", commit, "tokenizer.json")));
        Assert.True(File.Exists(Path.Combine(RepoDir(), ".no_exist", commit, "special_tokens_map.json")));
        Assert.False(File.Exists(Path.Combine(snapshot, "tokenizer.json")));
        Assert.Empty(Directory.GetFiles(Path.Combine(RepoDir(), "blobs"), "*.incomplete"));
        Assert.Equal(["config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json"], result.Files.Select(f => f.Name));
        Assert.All(result.Files, f => Assert.True(f.Downloaded));
        // After the first file, every request is pinned to the resolved commit.
        Assert.All(_hub.Requests.Where(r => r.Port == _hub.HubPort && !r.Path.Contains("config.json", StringComparison.Ordinal)),
            r => Assert.Contains("/resolve/" + commit + "/", r.Path));

        TorchRuntime.EnsureLoaded();
        var sd = StateDictSource.Load(result.SnapshotDir);
        Assert.Equal(SafeTensors.ReadHeader(CheckpointFixtures.PretrainingSafeTensors).Tensors.Count, sd.Count);
        SafeTensors.DisposeAll(sd);
    }

    [Fact]
    public void Cached_model_resolves_without_any_request_and_redownload_fetches_no_bodies()
    {
        AddTiny();
        var first = ModelLocator.Resolve("org/tiny", Options());
        int before = _hub.Requests.Count;
        Assert.True(before > 0);
        Assert.Equal(first, ModelLocator.Resolve("org/tiny", Options()));
        Assert.Equal(before, _hub.Requests.Count);

        using var client = new HubClient(Options());
        var again = client.DownloadModel("org/tiny");
        Assert.All(again.Files, f => Assert.False(f.Downloaded));
        Assert.DoesNotContain(_hub.Requests.Skip(before), r => r.Method == "GET");
    }

    // Where links cannot be made (vfat, some network shares) each snapshot file is a copy of its blob; no test can mount such a
    // filesystem unprivileged, so the link is made to fail as it fails there, just before the real call.
    [Fact]
    public void Where_links_cannot_be_made_the_snapshot_holds_copies_of_the_blobs_and_a_second_download_reuses_them()
    {
        var commit = AddTiny();
        HubCache.BeforeLink.Value = p => throw new IOException($"Operation not permitted : '{p}'");
        try
        {
            using var client = new HubClient(Options());
            var first = client.DownloadModel("org/tiny");
            var requests = _hub.Requests.Count;
            var again = client.DownloadModel("org/tiny");

            var snapshot = Path.Combine(RepoDir(), "snapshots", commit);
            var expected = new[] { ("config.json", Config), ("model.safetensors", Weights), ("vocab.txt", Vocab), ("tokenizer_config.json", TokCfg) };
            foreach (var (name, bytes) in expected)
            {
                var file = new FileInfo(Path.Combine(snapshot, name));
                Assert.Null(file.LinkTarget);
                Assert.Equal(bytes, File.ReadAllBytes(file.FullName));
            }
            Assert.Equal(Weights, File.ReadAllBytes(Path.Combine(RepoDir(), "blobs", FakeHub.Sha256(Weights))));
            Assert.Equal(expected.Select(e => e.Item1).Order(), Directory.GetFileSystemEntries(snapshot).Select(Path.GetFileName).Order());
            Assert.All(first.Files, f => Assert.True(f.Downloaded));
            Assert.All(again.Files, f => Assert.False(f.Downloaded));
            Assert.DoesNotContain(_hub.Requests.Skip(requests), r => r.Method == "GET");
        }
        finally
        {
            HubCache.BeforeLink.Value = null;
        }
    }

    [Fact]
    public void Offline_mode_uses_the_cache_and_never_touches_the_network()
    {
        AddTiny();
        var online = ModelLocator.Resolve("org/tiny", Options());
        int before = _hub.Requests.Count;
        using (var offline = new HubClient(Options(offline: true)))
        {
            var r = offline.DownloadModel("org/tiny");
            Assert.Equal(online, r.SnapshotDir);
            // The files' sizes, not their links' (some 80 bytes).
            Assert.Equal(Weights.Length, r.Files.Single(f => f.Name == "model.safetensors").Size);
            Assert.Equal(Vocab.Length, r.Files.Single(f => f.Name == "vocab.txt").Size);
        }
        Assert.Equal(online, ModelLocator.Resolve("org/tiny", Options(offline: true)));
        var e = Assert.Throws<BertSharpException>(() => ModelLocator.Resolve("org/other", Options(offline: true)));
        Assert.StartsWith("org/other: no local directory ", e.Message, StringComparison.Ordinal);
        Assert.Contains("as a Hub model id: the model (revision main) on ", e.Message, StringComparison.Ordinal);
        Assert.Contains("not in the cache", e.Message);
        Assert.Contains("offline", e.Message);
        Assert.Equal(before, _hub.Requests.Count);
    }

    // The CDN redirects each GET to a signed URL (relative), so the resume's Range must survive the hop.
    [Fact]
    public void Dropped_connection_is_resumed_with_a_range_request_through_the_cdns_redirect()
    {
        AddTiny();
        _hub.CdnRedirect = true;
        _hub.DropNextCdnGetAfter = 100_000;
        using var client = new HubClient(Options());
        var r = client.DownloadModel("org/tiny");
        Assert.Equal(Weights, File.ReadAllBytes(Path.Combine(r.SnapshotDir, "model.safetensors")));
        var cdn = _hub.Requests.Where(q => q.Port == _hub.CdnPort && q.Method == "GET").Select(q => (q.Path.Split('/')[1], q.Range));
        Assert.Equal([("repos", null), ("signed", null), ("repos", "bytes=100000-"), ("signed", "bytes=100000-")], cdn);
    }

    // A resume that does not start where the partial file ends would splice two parts of the file at the wrong place.
    [Fact]
    public void A_resume_at_the_wrong_byte_is_refused_naming_both_offsets()
    {
        AddTiny();
        _hub.DropNextCdnGetAfter = 100_000;
        _hub.ResumeFromStart = true;
        using var client = new HubClient(Options());
        Assert.Equal("org/tiny/model.safetensors: the server resumed at byte 0, not at 100000.",
            Assert.Throws<BertSharpException>(() => client.DownloadModel("org/tiny")).Message);
        Assert.False(File.Exists(Path.Combine(RepoDir(), "blobs", FakeHub.Sha256(Weights))));
        Assert.Null(client.FindCachedModel("org/tiny"));
    }

    [Fact]
    public void Stalled_download_times_out_and_resumes_instead_of_hanging()
    {
        AddTiny();
        _hub.StallNextCdnGetAfter = 50_000;
        using var client = new HubClient(Options() with { ReadTimeout = TimeSpan.FromSeconds(1) });
        var r = client.DownloadModel("org/tiny");
        Assert.Equal(Weights, File.ReadAllBytes(Path.Combine(r.SnapshotDir, "model.safetensors")));
        Assert.Equal([null, "bytes=50000-"], _hub.Requests.Where(q => q.Port == _hub.CdnPort && q.Method == "GET").Select(q => q.Range));
    }

    [Fact]
    public void A_hub_that_does_not_answer_the_metadata_request_is_named_with_the_wait()
    {
        AddTiny();
        _hub.StallHeads = true;
        using var client = new HubClient(Options() with { ReadTimeout = TimeSpan.FromMilliseconds(500) });
        Assert.Equal($"{_hub.Endpoint}/org/tiny/resolve/main/config.json: no answer within 0.5 s.",
            Assert.Throws<BertSharpException>(() => client.DownloadModel("org/tiny")).Message);
        Assert.Null(client.FindCachedModel("org/tiny"));
    }

    [Fact]
    public void Persistent_failure_gives_up_keeping_the_partial_file_for_the_next_run()
    {
        AddTiny();
        using var client = new HubClient(Options() with { MaxResumes = 0 });
        _hub.DropNextCdnGetAfter = 10_000;
        var e = Assert.Throws<BertSharpException>(() => client.DownloadModel("org/tiny"));
        Assert.Contains("org/tiny/model.safetensors: download failed after 1 attempt (", e.Message);
        Assert.Contains("the next run resumes it", e.Message);
        var partial = Path.Combine(RepoDir(), "blobs", FakeHub.Sha256(Weights) + ".incomplete");
        Assert.Equal(10_000, new FileInfo(partial).Length);
        var r = client.DownloadModel("org/tiny");
        Assert.Equal(Weights, File.ReadAllBytes(Path.Combine(r.SnapshotDir, "model.safetensors")));
        Assert.Equal("bytes=10000-", _hub.Requests.Last(q => q.Port == _hub.CdnPort).Range);
        Assert.False(File.Exists(partial));
    }

    // A 416 at the end of what the server has meant the file is shorter than announced: it was downloaded again MaxResumes
    // times, and the error said the partial file was kept for the next run, which had been deleted.
    [Fact]
    public void A_file_shorter_or_longer_than_announced_is_refused_at_once()
    {
        AddTiny();
        _hub.AnnouncedSizeExtra = 10;
        using var client = new HubClient(Options());
        var e = Assert.Throws<BertSharpException>(() => client.DownloadModel("org/tiny"));
        Assert.Contains($"org/tiny/model.safetensors: the server has {Weights.Length} bytes of it but the Hub announced {Weights.Length + 10}; the download was discarded.",
            e.Message, StringComparison.Ordinal);
        Assert.Equal([null, $"bytes={Weights.Length}-"], _hub.Requests.Where(q => q.Port == _hub.CdnPort && q.Method == "GET").Select(q => q.Range));
        Assert.Empty(Directory.GetFiles(Path.Combine(RepoDir(), "blobs"), "*.incomplete"));
        // A file longer than announced is refused as well, and neither it nor a blob stays.
        _hub.AnnouncedSizeExtra = -10;
        var longer = Assert.Throws<BertSharpException>(() => client.DownloadModel("org/tiny"));
        Assert.Equal($"org/tiny/model.safetensors: downloaded {Weights.Length} bytes but the Hub announced {Weights.Length - 10}; the download was discarded.", longer.Message);
        Assert.Equal([FakeHub.GitSha1(Config)], Directory.GetFiles(Path.Combine(RepoDir(), "blobs")).Select(Path.GetFileName));
    }

    // File.Exists is true for a link whose blob is gone: a snapshot with its weights blob deleted (to free space) counted as
    // complete, so ModelLocator used it without a download and loading it failed with "not found".
    [Fact]
    public void A_deleted_blob_is_not_cached_and_is_downloaded_again()
    {
        AddTiny();
        var snapshot = ModelLocator.Resolve("org/tiny", Options());
        File.Delete(Path.Combine(RepoDir(), "blobs", FakeHub.Sha256(Weights)));
        File.Delete(Path.Combine(RepoDir(), "blobs", FakeHub.GitSha1(Vocab)));
        using (var offline = new HubClient(Options(offline: true)))
        {
            Assert.Null(offline.FindCachedModel("org/tiny"));
            Assert.Contains("is not in the cache", Assert.Throws<BertSharpException>(() => offline.DownloadModel("org/tiny")).Message);
        }
        int before = _hub.Count("GET", "");
        Assert.Equal(snapshot, ModelLocator.Resolve("org/tiny", Options()));
        Assert.True(_hub.Count("GET", "") > before);
        Assert.Equal(Weights, File.ReadAllBytes(Path.Combine(snapshot, "model.safetensors")));
        Assert.Equal(Vocab, File.ReadAllBytes(Path.Combine(snapshot, "vocab.txt")));
    }

    [Fact]
    public void Concurrent_downloads_of_one_model_fetch_each_blob_once()
    {
        AddTiny();
        var results = Enumerable.Range(0, 4).AsParallel().WithDegreeOfParallelism(4).Select(_ =>
        {
            using var client = new HubClient(Options());
            return client.DownloadModel("org/tiny");
        }).ToList();
        Assert.Single(results.Select(r => r.SnapshotDir).Distinct());
        Assert.Equal(Weights, File.ReadAllBytes(Path.Combine(results[0].SnapshotDir, "model.safetensors")));
        Assert.Equal(1, _hub.Count("GET", "/repos/" + FakeHub.Sha256(Weights)));
        Assert.Equal(1, results.Sum(r => r.Files.Count(f => f.Name == "model.safetensors" && f.Downloaded)));
        Assert.Empty(Directory.GetFiles(Path.Combine(RepoDir(), "blobs"), "*.lock"));
    }

    // A download into the same new cache that failed removes the folders it noted while they are empty; this one can be
    // between making blobs/ and opening its lock file there at that moment, and failed with "could not find a part of the
    // path" for a download of its own that was fine. The seam is that moment: the other run's clean-up runs there once for
    // each file this download opens.
    [Fact]
    public void A_failed_downloads_clean_up_between_making_a_folder_and_opening_a_file_in_it_does_not_break_another()
    {
        var commit = AddTiny();
        var root = Path.Combine(_cache.Path, "new");
        var other = NewDirectories.Before(Path.Combine(root, "models--org--tiny", "blobs"));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var removedAt = new List<string>();
        FolderFile.AfterFolder.Value = path =>
        {
            if (seen.Add(path))
            {
                other.RemoveEmpty();
                if (!Directory.Exists(root))
                {
                    removedAt.Add(Path.GetFileName(path));
                }
            }
        };
        try
        {
            using var client = new HubClient(Options() with { CacheDir = root });
            var result = client.DownloadModel("org/tiny");

            // The whole new cache went twice: after this run made it, and between blobs/ and the first lock file. Later
            // files find blobs/ holding a lock or a blob, which a clean-up leaves alone.
            Assert.Equal(["blobs", FakeHub.GitSha1(Config) + ".lock"], removedAt);
            Assert.Equal(Path.Combine(root, "models--org--tiny", "snapshots", commit), result.SnapshotDir);
            foreach (var (name, bytes) in new[] { ("config.json", Config), ("model.safetensors", Weights), ("vocab.txt", Vocab), ("tokenizer_config.json", TokCfg) })
            {
                Assert.Equal(bytes, File.ReadAllBytes(Path.Combine(result.SnapshotDir, name)));
            }
            Assert.All(result.Files, f => Assert.True(f.Downloaded));
            Assert.Equal(commit, File.ReadAllText(Path.Combine(root, "models--org--tiny", "refs", "main")));
            Assert.Empty(Directory.GetFiles(Path.Combine(root, "models--org--tiny", "blobs"), "*.lock"));
            Assert.Empty(Directory.GetFiles(Path.Combine(root, "models--org--tiny", "blobs"), "*.incomplete"));
        }
        finally
        {
            FolderFile.AfterFolder.Value = null;
        }
    }

    // A folder that vanishes every time it is made is not that race, and not another download holding the lock either: it
    // is the system's error, at once, not "another process has been downloading it" after the lock timeout.
    [Fact]
    public void A_folder_that_keeps_vanishing_is_a_one_line_error_naming_it_not_a_lock_held_by_another_download()
    {
        AddTiny();
        var root = Path.Combine(_cache.Path, "new");
        var other = NewDirectories.Before(Path.Combine(root, "models--org--tiny", "blobs"));
        var calls = 0;
        FolderFile.AfterFolder.Value = _ =>
        {
            calls++;
            other.RemoveEmpty();
        };
        try
        {
            using var client = new HubClient(Options() with { CacheDir = root, LockTimeout = TimeSpan.FromSeconds(1) });
            var e = Assert.Throws<BertSharpException>(() => client.DownloadModel("org/tiny"));
            Assert.Equal(Path.Combine(root, "models--org--tiny", "blobs") + ": the folder kept vanishing as it was made (10 times in a row); another process keeps removing it.", e.Message);
            // Once for the cache folder, then each attempt at the lock file.
            Assert.Equal(1 + FolderFile.Attempts, calls);
            Assert.False(Directory.Exists(root));
        }
        finally
        {
            FolderFile.AfterFolder.Value = null;
        }
    }

    private sealed class Recorder : IProgress<HubDownloadProgress>
    {
        public List<HubDownloadProgress> Reports { get; } = [];

        public void Report(HubDownloadProgress value)
        {
            lock (Reports)
            {
                Reports.Add(value);
            }
        }
    }

    [Fact]
    public void Progress_reports_rise_to_the_file_size_and_continue_from_a_resume_point()
    {
        var big = new byte[3_500_000];
        new Random(3).NextBytes(big);
        _hub.AddRepo("org/big", ("config.json", Config, false), ("pytorch_model.bin", big, true));
        _hub.DropNextCdnGetAfter = 1_500_000;
        var rec = new Recorder();
        using var client = new HubClient(Options() with { Progress = rec });
        client.DownloadModel("org/big");
        var bin = rec.Reports.Where(r => r.File == "pytorch_model.bin").ToList();
        Assert.All(bin, r => Assert.Equal(big.Length, r.Total));
        Assert.Equal(big.Length, bin[^1].Bytes);
        Assert.True(bin.Count >= 3, $"{bin.Count} reports");
        // Bytes never go backwards across the dropped connection: the resume continues from what is on disk.
        Assert.Equal(bin.Select(r => r.Bytes).Order(), bin.Select(r => r.Bytes));
    }

    // A partial file longer than the announced size cannot be the start of this file (another run's garbage under its
    // name): resuming past the end would be a 416 and a refusal, so it is discarded and the download starts over. A whole
    // file of unannounced size is only known complete when the resume past its end answers 416: it is verified and kept.
    [Theory]
    [InlineData("start")]
    [InlineData("longer")]
    [InlineData("whole, size unannounced")]
    public void Partial_download_left_by_an_earlier_run_is_resumed_kept_or_started_over_when_longer_than_the_file(string partial)
    {
        AddTiny();
        _hub.AnnounceNoSize = partial.StartsWith("whole", StringComparison.Ordinal);
        var blobs = Path.Combine(RepoDir(), "blobs");
        Directory.CreateDirectory(blobs);
        byte[] bytes = partial switch { "start" => Weights[..4096], "longer" => [.. Weights, 1, 2, 3], _ => Weights };
        File.WriteAllBytes(Path.Combine(blobs, FakeHub.Sha256(Weights) + ".incomplete"), bytes);
        using var client = new HubClient(Options());
        var r = client.DownloadModel("org/tiny");
        Assert.Equal(Weights, File.ReadAllBytes(Path.Combine(r.SnapshotDir, "model.safetensors")));
        var expected = partial switch { "start" => "bytes=4096-", "longer" => null, _ => $"bytes={Weights.Length}-" };
        Assert.Equal([expected], _hub.Requests.Where(q => q.Port == _hub.CdnPort).Select(q => q.Range));
        Assert.Empty(Directory.GetFiles(blobs, "*.incomplete"));
    }

    // Server errors end the download with the status and the URL, and leave nothing of the file in the cache (no blob, no
    // partial file, no ref), so the next run starts clean.
    [Fact]
    public void A_server_error_is_one_line_with_the_status_and_nothing_of_the_file_is_cached()
    {
        AddTiny();
        _hub.HubStatus = 503;
        // FakeHub's reason phrases are the status names (ServiceUnavailable); the client repeats what the server sent.
        CliRunner.Run("download", "org/tiny", "--cache-dir", _cache.Path, "--endpoint", _hub.Endpoint)
            .AssertOneLineError($"error: {_hub.Endpoint}/org/tiny/resolve/main/config.json: the Hub answered HTTP 503 ServiceUnavailable.");
        Assert.False(Directory.Exists(RepoDir()));
        _hub.HubStatus = null;
        _hub.CdnStatus = 500;
        using var client = new HubClient(Options());
        var sha = FakeHub.Sha256(Weights);
        Assert.Equal($"org/tiny/model.safetensors: download answered HTTP 500 InternalServerError (http://127.0.0.1:{_hub.CdnPort}/repos/{sha}?download=true).",
            Assert.Throws<BertSharpException>(() => client.DownloadModel("org/tiny")).Message);
        Assert.Equal([FakeHub.GitSha1(Config)], Directory.GetFiles(Path.Combine(RepoDir(), "blobs")).Select(Path.GetFileName));
        Assert.False(File.Exists(Path.Combine(RepoDir(), "refs", "main")));
        Assert.Null(client.FindCachedModel("org/tiny"));
    }

    // A failed download into a --cache-dir that did not exist left it behind, empty, with models--org--name/blobs in it.
    [Fact]
    public void A_failed_download_removes_the_empty_folders_it_made_and_nothing_else()
    {
        AddTiny();
        var root = Path.Combine(_cache.Path, "new", "hub");
        var missing = CliRunner.Run("download", "org/missing", "--cache-dir", root, "--endpoint", _hub.Endpoint);
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Contains("model 'org/missing' was not found", missing.StdErr, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_cache.Path));

        // The root existed (empty): it stays. A blob this run completed stays with its folders (a partial one too:
        // Persistent_failure_gives_up_keeping_the_partial_file_for_the_next_run).
        Directory.CreateDirectory(root);
        _hub.CdnStatus = 500;
        using var client = new HubClient(Options() with { CacheDir = root });
        Assert.Throws<BertSharpException>(() => client.DownloadModel("org/tiny"));
        var tiny = Path.Combine(root, "models--org--tiny");
        Assert.Equal([FakeHub.GitSha1(Config)], Directory.GetFiles(Path.Combine(tiny, "blobs")).Select(Path.GetFileName));
        _hub.HubStatus = 503;
        Assert.Throws<BertSharpException>(() => client.DownloadModel("org/other"));
        Assert.Equal([tiny], Directory.GetDirectories(root));

        // Unreachable: nothing of this run remains either.
        var gone = Path.Combine(_cache.Path, "unreachable");
        using var offlineHub = new HubClient(Options() with { CacheDir = gone, Endpoint = "http://127.0.0.1:1" });
        Assert.Throws<BertSharpException>(() => offlineHub.DownloadModel("org/tiny"));
        Assert.False(Directory.Exists(gone));
    }

    // A gated model and a server whose commit is not a hash (not a Hub, or a broken proxy) are refused before any body is
    // fetched: the commit names a folder under snapshots/, so anything else must not reach the cache.
    [Fact]
    public void A_gated_model_and_a_commit_that_is_not_a_hash_are_refused_naming_them()
    {
        AddTiny();
        _hub.HubStatus = 401;
        _hub.HubStatusHeaders = [("X-Error-Code", "GatedRepo")];
        using var client = new HubClient(Options());
        Assert.Equal("model 'org/tiny' is gated: accept its terms on the Hub and set HF_TOKEN to a token with access.",
            Assert.Throws<BertSharpException>(() => client.DownloadModel("org/tiny")).Message);
        _hub.HubStatus = null;
        _hub.CommitOverride = "../main";
        Assert.Equal($"{_hub.Endpoint}/org/tiny/resolve/main/config.json: X-Repo-Commit '../main' is not a commit hash.",
            Assert.Throws<BertSharpException>(() => client.DownloadModel("org/tiny")).Message);
        Assert.False(Directory.Exists(RepoDir()));
        Assert.DoesNotContain(_hub.Requests, q => q.Method == "GET");
    }

    // A server that ignores Range sends the file from its start each time; ending short of the announced size every time,
    // the download gives up after MaxResumes more tries instead of looping, and says the partial file stays.
    [Fact]
    public void A_download_that_keeps_ending_short_gives_up_after_the_resumes_keeping_the_partial_file()
    {
        AddTiny();
        _hub.AnnouncedSizeExtra = 10;
        _hub.IgnoreRange = true;
        using var client = new HubClient(Options() with { MaxResumes = 1 });
        Assert.Equal("org/tiny/model.safetensors: download kept ending early after 2 attempts; the partial file is kept and the next run resumes it.",
            Assert.Throws<BertSharpException>(() => client.DownloadModel("org/tiny")).Message);
        Assert.Equal([null, $"bytes={Weights.Length}-"], _hub.Requests.Where(q => q.Port == _hub.CdnPort && q.Method == "GET").Select(q => q.Range));
        var partial = Path.Combine(RepoDir(), "blobs", FakeHub.Sha256(Weights) + ".incomplete");
        Assert.Equal(Weights.Length, new FileInfo(partial).Length);
        Assert.False(File.Exists(Path.Combine(RepoDir(), "blobs", FakeHub.Sha256(Weights))));
    }

    [Fact]
    public void Corrupted_download_is_refused_and_nothing_is_cached()
    {
        AddTiny();
        _hub.Corrupt.Add(FakeHub.Sha256(Weights));
        using var client = new HubClient(Options());
        var e = Assert.Throws<BertSharpException>(() => client.DownloadModel("org/tiny"));
        Assert.Contains("org/tiny/model.safetensors: sha256 of the download is", e.Message);
        Assert.Contains("but the Hub says " + FakeHub.Sha256(Weights), e.Message);
        var blobs = Directory.GetFiles(Path.Combine(RepoDir(), "blobs")).Select(Path.GetFileName);
        Assert.Equal([FakeHub.GitSha1(Config)], blobs); // only config.json, no weights blob and no .incomplete
        Assert.Null(client.FindCachedModel("org/tiny"));
        Assert.False(File.Exists(Path.Combine(RepoDir(), "refs", "main")));
    }

    [Fact]
    public void Unknown_repo_revision_and_missing_weights_have_clear_messages()
    {
        AddTiny();
        _hub.AddRepo("org/empty", ("config.json", Config, false), ("vocab.txt", Vocab, false));
        using var client = new HubClient(Options());
        Assert.Contains($"model 'org/missing' was not found on {_hub.Endpoint} (HTTP 401); if it is private or gated, set HF_TOKEN",
            Assert.Throws<BertSharpException>(() => client.DownloadModel("org/missing")).Message);
        Assert.Contains("revision 'v9' does not exist in model 'org/tiny'",
            Assert.Throws<BertSharpException>(() => client.DownloadModel("org/tiny", "v9")).Message);
        Assert.Contains("has no model weights (looked for model.safetensors, model.safetensors.index.json, pytorch_model.bin",
            Assert.Throws<BertSharpException>(() => client.DownloadModel("org/empty")).Message);
        Assert.Contains("is neither an existing directory nor a valid Hub model id",
            Assert.Throws<BertSharpException>(() => ModelLocator.Resolve("org/na--me", Options())).Message);
        Assert.Contains("no such directory", Assert.Throws<BertSharpException>(() => ModelLocator.Resolve("./no/such/dir", Options())).Message);
    }

    // A mistyped local path of the form dir/name is also a valid Hub id: the message must say that no such directory exists
    // as well as what the Hub answered (it used to be only the Hub's "not found" or "cannot reach").
    [Fact]
    public void A_missing_directory_that_reads_as_a_hub_id_is_named_as_both()
    {
        var local = Path.GetFullPath("runs/nonexistent");
        var notFound = Assert.Throws<BertSharpException>(() => ModelLocator.Resolve("runs/nonexistent", Options())).Message;
        Assert.True(notFound.StartsWith($"runs/nonexistent: no local directory {local}, and as a Hub model id: the model was not found on {_hub.Endpoint}", StringComparison.Ordinal), notFound);
        var offline = Assert.Throws<BertSharpException>(() => ModelLocator.Resolve("runs/nonexistent", Options(offline: true)));
        Assert.True(offline.Message.StartsWith($"runs/nonexistent: no local directory {local}, and as a Hub model id: the model (revision main) on {_hub.Endpoint} is not in the cache", StringComparison.Ordinal), offline.Message);
        Assert.EndsWith("download it once with HubClient.DownloadModel and network access.", offline.Message, StringComparison.Ordinal);
        // The option stays a field, so the CLI names it by its flag.
        Assert.Equal(["offline"], offline.Fields);
        var unreachable = new HubOptions { Endpoint = "http://127.0.0.1:9", CacheDir = _cache.Path, Offline = false, ReadTimeout = TimeSpan.FromSeconds(20) };
        var unreached = Assert.Throws<BertSharpException>(() => ModelLocator.Resolve("runs/nonexistent", unreachable)).Message;
        Assert.True(unreached.StartsWith($"runs/nonexistent: no local directory {local}, and as a Hub model id: cannot reach http://127.0.0.1:9 for config.json", StringComparison.Ordinal), unreached);
        // The advice works for every command: only 'bert download' has --offline, which the field used to be rendered as.
        Assert.EndsWith("; set HF_HUB_OFFLINE=1 to work from the cache.", unreached, StringComparison.Ordinal);

        var saved = new[] { "HF_HUB_OFFLINE", "HF_HUB_CACHE" }.ToDictionary(n => n, Environment.GetEnvironmentVariable);
        try
        {
            Environment.SetEnvironmentVariable("HF_HUB_OFFLINE", "1");
            Environment.SetEnvironmentVariable("HF_HUB_CACHE", _cache.Path);
            CliRunner.Run("predict", "--model", "runs/nonexistent", "--text", "hi")
                .AssertOneLineError($"error: runs/nonexistent: no local directory {local}, and as a Hub model id: the model (revision main) on ", " is not in the cache ", "download it once with 'bert download' and network access.");
        }
        finally
        {
            foreach (var (name, value) in saved)
            {
                Environment.SetEnvironmentVariable(name, value);
            }
        }
    }

    [Fact]
    public void Sharded_and_bin_only_repos_download_their_weights()
    {
        var shardDir = CheckpointFixtures.File("sharded");
        var shardFiles = Directory.GetFiles(shardDir).Select(f => (Path.GetFileName(f), File.ReadAllBytes(f), f.EndsWith(".safetensors", StringComparison.Ordinal))).ToArray();
        _hub.AddRepo("sharded", [("config.json", Config, false), .. shardFiles]);
        _hub.AddRepo("org/legacy", ("config.json", Config, false), ("pytorch_model.bin", File.ReadAllBytes(CheckpointFixtures.LegacyBin), true));
        using var client = new HubClient(Options());
        var sharded = client.DownloadModel("sharded");
        Assert.Equal(5, sharded.Files.Count); // config + index + 3 shards
        Assert.Equal(sharded.SnapshotDir, client.FindCachedModel("sharded"));
        TorchRuntime.EnsureLoaded();
        var sd = StateDictSource.Load(sharded.SnapshotDir);
        var reference = SafeTensors.Load(CheckpointFixtures.PretrainingSafeTensors);
        foreach (var (k, t) in reference)
        {
            TensorAssert.Identical(t, sd[k], k);
        }
        // An index that does not parse names no shards: the model is not cached (and is downloaded again), not an error.
        File.WriteAllText(Path.Combine(sharded.SnapshotDir, "model.safetensors.index.json"), "{\"weight_map\": [");
        Assert.Null(client.FindCachedModel("sharded"));
        var legacy = client.DownloadModel("org/legacy");
        Assert.EndsWith("pytorch_model.bin", StateDictSource.FindWeightsFile(legacy.SnapshotDir));
        SafeTensors.DisposeAll(sd);
        SafeTensors.DisposeAll(reference);
    }

    // The repository names its shards, and the log is bert download's stdout: an escape or U+202E in a shard's name drove
    // the terminal, in the line a download waiting for another writes, the downloaded file's line and the cached one's.
    [Fact]
    public void The_log_shows_a_shard_name_from_the_repository_as_data()
    {
        const string Shard = "model-\u001b[31m\u202e.safetensors";
        var index = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new { weight_map = new Dictionary<string, string> { ["w"] = Shard } });
        byte[] shard = [1, 2, 3, 4];
        _hub.AddRepo("org/odd", ("config.json", Config, false), ("model.safetensors.index.json", index, false), (Shard, shard, true));
        var log = new StringWriter();
        var blobs = Path.Combine(RepoDir("org/odd"), "blobs");
        Directory.CreateDirectory(blobs);
        using (new FileStream(Path.Combine(blobs, FakeHub.Sha256(shard) + ".lock"), FileMode.Create, FileAccess.ReadWrite, FileShare.None))
        {
            using var waiting = new HubClient(Options() with { Log = log, LockTimeout = TimeSpan.FromMilliseconds(200) });
            Assert.Contains("another process has been downloading it", Assert.Throws<BertSharpException>(() => waiting.DownloadModel("org/odd")).Message);
        }
        using (var client = new HubClient(Options() with { Log = log }))
        {
            client.DownloadModel("org/odd");
        }
        using (var offline = new HubClient(Options(offline: true) with { Log = log }))
        {
            offline.DownloadModel("org/odd");
        }
        const string Shown = "model-\\x1b[31m\\u202e.safetensors";
        var lines = log.ToString().Split(Environment.NewLine);
        Assert.Contains(Shown + ": waiting for another download of the same file to finish…", lines);
        Assert.Contains(lines, l => l.StartsWith(Shown + " ", StringComparison.Ordinal) && l.EndsWith("  downloaded", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith(Shown + " ", StringComparison.Ordinal) && l.EndsWith("  cached", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains('\u001b', StringComparison.Ordinal) || l.Contains('\u202e', StringComparison.Ordinal));
    }

    [Fact]
    public void Renamed_repo_redirect_is_followed_and_cached_under_the_requested_id()
    {
        var commit = AddTiny();
        _hub.Renamed["old-name"] = "org/tiny";
        using var client = new HubClient(Options());
        var r = client.DownloadModel("old-name");
        Assert.Equal(Path.Combine(RepoDir("old-name"), "snapshots", commit), r.SnapshotDir);
        Assert.Equal(Weights, File.ReadAllBytes(Path.Combine(r.SnapshotDir, "model.safetensors")));
        Assert.Contains(_hub.Requests, q => q.Method == "HEAD" && q.Path.StartsWith("/org/tiny/resolve/", StringComparison.Ordinal));
    }

    // Past the redirect limit the last redirect was taken for the file's answer: "did not send X-Repo-Commit", or, when the
    // redirect carried the Hub's headers, an internal error (its relative Location used as the download URL).
    [Fact]
    public void Redirect_loop_is_refused_after_the_limit()
    {
        _hub.Renamed["org/a"] = "org/b";
        _hub.Renamed["org/b"] = "org/a";
        using var client = new HubClient(Options());
        var e = Assert.Throws<BertSharpException>(() => client.DownloadModel("org/a"));
        Assert.Contains("/org/b/resolve/main/config.json: redirected more than 5 times (a redirect loop?); refused.", e.Message, StringComparison.Ordinal);
        Assert.Equal(6, _hub.Count("HEAD", "config.json"));
    }

    [Fact]
    public void Token_goes_to_the_hub_but_not_to_the_cdn()
    {
        AddTiny();
        using var client = new HubClient(Options(token: "hf_secret"));
        client.DownloadModel("org/tiny");
        Assert.All(_hub.Requests.Where(r => r.Port == _hub.HubPort), r => Assert.Equal("Bearer hf_secret", r.Authorization));
        Assert.All(_hub.Requests.Where(r => r.Port == _hub.CdnPort), r => Assert.Null(r.Authorization));
        Assert.Contains(_hub.Requests, r => r.Port == _hub.CdnPort);
    }

    // The library names the snapshot it resolved the id to (~/.cache/huggingface/hub/models--org--tiny/snapshots/<commit>),
    // a path the user never typed.
    [Fact]
    public void Cli_names_a_file_of_a_hub_model_by_the_id_typed()
    {
        AddTiny();
        using (var client = new HubClient(Options()))
        {
            client.DownloadModel("org/tiny");
        }
        var saved = new[] { "HF_HUB_OFFLINE", "HF_HUB_CACHE" }.ToDictionary(n => n, Environment.GetEnvironmentVariable);
        try
        {
            Environment.SetEnvironmentVariable("HF_HUB_OFFLINE", "1");
            Environment.SetEnvironmentVariable("HF_HUB_CACHE", _cache.Path);
            // config.json's hidden_size 64 with BERT's default 12 heads.
            var line = CliRunner.Run("predict", "--model", "org/tiny", "--text", "hi").AssertOneLineError();
            Assert.Equal("error: org/tiny/config.json: hidden_size 64 is not a multiple of num_attention_heads 12.", line);
            // A path refusal keeps its kind, so the CLI still says it as one: its path is the id's file as well.
            var parse = Cli.Program.ParseChecked(["predict", "--model", "org/tiny", "--text", "hi"]);
            var refusal = new BertSharp.IO.PathException(Path.Combine(RepoDir(), "snapshots", "0123abc", "vocab.txt"), "not found.");
            var named = Assert.IsType<BertSharp.IO.PathException>(Cli.HubModelNames.Name(parse, refusal));
            Assert.Equal(("org/tiny/vocab.txt", "not found."), (named.Path, named.Problem));
            // A command's --cache-dir is the cache its failures name, not the environment's.
            Environment.SetEnvironmentVariable("HF_HUB_OFFLINE", null);
            _hub.AddRepo("org/bad", ("config.json", Config, false), ("model.safetensors.index.json", "[]"u8.ToArray(), false));
            var elsewhere = Path.Combine(_cache.Path, "elsewhere");
            var bad = CliRunner.Run("download", "org/bad", "--cache-dir", elsewhere, "--endpoint", _hub.Endpoint);
            Assert.True(bad.ExitCode == 2, bad.StdErr);
            Assert.Equal("error: org/bad/model.safetensors.index.json: invalid shard index: expected an object with a \"weight_map\" object.", bad.StdErr.TrimEnd());
        }
        finally
        {
            foreach (var (name, value) in saved)
            {
                Environment.SetEnvironmentVariable(name, value);
            }
        }
    }

    // As the CLI does: a loader given a Hub id has the id at hand, and names the snapshot's files by it.
    [Fact]
    public void Library_loaders_name_a_file_of_a_hub_model_by_the_id_typed()
    {
        AddTiny();
        // config.json's hidden_size 64 with BERT's default 12 heads.
        var e = Assert.Throws<BertSharpException>(() => BertSharp.Modeling.BertPretrained.Load<BertSharp.Modeling.BertModel>("org/tiny", out _, hub: Options()));
        Assert.Equal("org/tiny/config.json: hidden_size 64 is not a multiple of num_attention_heads 12.", e.Message);
        // A pipeline reads its tokenizer from the snapshot the id resolved to (it looked for a directory named by the id).
        _hub.AddRepo("org/fixture", ("config.json", File.ReadAllBytes(CheckpointFixtures.HfCase("pretraining", "config.json")), false),
            ("model.safetensors", Weights, true), ("vocab.txt", File.ReadAllBytes(CheckpointFixtures.HfCase("pretraining", "vocab.txt")), false));
        using (var client = new HubClient(Options()))
        {
            client.DownloadModel("org/fixture");
        }
        using var env = new BertSharp.Tests.Distributed.EnvScope(("HF_HUB_OFFLINE", "1"), ("HF_HUB_CACHE", _cache.Path));
        using var features = BertSharp.Inference.FeatureExtraction.Load("org/fixture", "cpu");
        Assert.Equal(File.ReadAllLines(CheckpointFixtures.HfCase("pretraining", "vocab.txt")).Length, features.Tokenizer.Vocab.Count);
    }

    [Fact]
    public void Cli_download_sends_the_token_of_the_login_file()
    {
        AddTiny();
        var tokenFile = Path.Combine(_cache.Path, "token");
        File.WriteAllText(tokenFile, "hf_from_file\n");
        var saved = new[] { "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH" }.ToDictionary(n => n, Environment.GetEnvironmentVariable);
        try
        {
            Environment.SetEnvironmentVariable("HF_TOKEN", null);
            Environment.SetEnvironmentVariable("HUGGING_FACE_HUB_TOKEN", null);
            Environment.SetEnvironmentVariable("HF_TOKEN_PATH", tokenFile);
            var r = CliRunner.Run("download", "org/tiny", "--cache-dir", _cache.Path, "--endpoint", _hub.Endpoint);
            Assert.True(r.ExitCode == 0, r.StdErr);
        }
        finally
        {
            foreach (var (name, value) in saved)
            {
                Environment.SetEnvironmentVariable(name, value);
            }
        }
        Assert.Contains(_hub.Requests, q => q.Port == _hub.HubPort);
        Assert.All(_hub.Requests.Where(q => q.Port == _hub.HubPort), q => Assert.Equal("Bearer hf_from_file", q.Authorization));
    }

    [Fact]
    public void Cli_download_prints_the_snapshot_and_offline_miss_exits_2()
    {
        var commit = AddTiny();
        var r = CliRunner.Run("download", "org/tiny", "--cache-dir", _cache.Path, "--endpoint", _hub.Endpoint);
        Assert.True(r.ExitCode == 0, r.StdErr);
        var lines = r.StdOut.TrimEnd().Split('\n');
        Assert.Equal(Path.Combine(RepoDir(), "snapshots", commit), lines[^1]);
        Assert.Equal($"org/tiny @ {commit}", lines[^2]);
        Assert.Contains(lines, l => l.StartsWith("model.safetensors", StringComparison.Ordinal) && l.EndsWith("downloaded", StringComparison.Ordinal));
        // The snapshot's path is shown as data: an escape in the cache folder's name drove the terminal.
        var odd = CliRunner.Run("download", "org/tiny", "--cache-dir", Path.Combine(_cache.Path, "odd\u001b[31m"), "--endpoint", _hub.Endpoint);
        Assert.True(odd.ExitCode == 0, odd.StdErr);
        Assert.Equal(Path.Combine(_cache.Path, "odd\\x1b[31m") + RepoDir()[_cache.Path.Length..] + $"/snapshots/{commit}", odd.StdOut.TrimEnd().Split('\n')[^1]);
        // Offline, the cached files are listed too, as the docs say of every run.
        var offline = CliRunner.Run("download", "org/tiny", "--cache-dir", _cache.Path, "--offline");
        Assert.True(offline.ExitCode == 0, offline.StdErr);
        Assert.Contains(offline.StdOut.Split('\n'), l => l.StartsWith("model.safetensors", StringComparison.Ordinal) && l.EndsWith("cached", StringComparison.Ordinal)
            && l.Contains(HubClient.FormatSize(Weights.Length), StringComparison.Ordinal));
        var miss = CliRunner.Run("download", "org/nothere", "--cache-dir", _cache.Path, "--offline");
        Assert.Equal(2, miss.ExitCode);
        Assert.StartsWith("error: model 'org/nothere' (revision main)", miss.StdErr);
    }

    // Request URLs are built from the endpoint: one that is not an http(s) URL was an internal error (UriFormatException,
    // "the 'ftp' scheme is not supported"), exit 70.
    [Theory]
    [InlineData("notaurl")]
    [InlineData("ftp://example.com")]
    [InlineData("file:///tmp")]
    public void Endpoint_that_is_not_an_http_url_is_a_one_line_error_naming_it(string endpoint)
    {
        CliRunner.Run("download", "org/tiny", "--cache-dir", _cache.Path, "--endpoint", endpoint)
            .AssertOneLineError($"--endpoint '{endpoint}': expected an http(s) URL such as https://huggingface.co.");
        var e = Assert.Throws<BertSharpException>(() => new HubClient(Options() with { Endpoint = endpoint }));
        Assert.Equal(["endpoint"], e.Fields);
        // Offline no request is made, so any endpoint will do.
        using var offline = new HubClient(Options(offline: true) with { Endpoint = endpoint });
    }

    // It was .NET's "Could not find a part of the path '…/models--org--tiny/blobs'", after the first request.
    [Fact]
    public void Cache_root_that_is_a_file_is_refused_before_any_request()
    {
        AddTiny();
        var file = Path.Combine(_cache.Path, "not-a-dir");
        File.WriteAllText(file, "x");
        CliRunner.Run("download", "org/tiny", "--cache-dir", file, "--endpoint", _hub.Endpoint)
            .AssertOneLineError($"--cache-dir {file}: cannot be written (a file, not a directory).");
        Assert.Empty(_hub.Requests);
    }

    [Fact]
    public void Cache_root_follows_the_huggingface_environment_variables()
    {
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        Assert.Equal("/c/hub", HubOptions.DefaultCacheDir(n => n == "HF_HUB_CACHE" ? "/c/hub" : n == "HF_HOME" ? "/h" : null));
        Assert.Equal(Path.Combine("/h", "hub"), HubOptions.DefaultCacheDir(n => n == "HF_HOME" ? "/h" : null));
        Assert.Equal(Path.Combine("/x", "huggingface", "hub"), HubOptions.DefaultCacheDir(n => n == "XDG_CACHE_HOME" ? "/x" : null));
        Assert.Equal(Path.Combine(home, ".cache", "huggingface", "hub"), HubOptions.DefaultCacheDir(_ => null));
        // bert download --cache-dir's help names every variable the default comes from: it left out two.
        var read = new List<string>();
        HubOptions.DefaultCacheDir(n => { read.Add(n); return null; });
        var help = BertSharp.Cli.Program.BuildRoot().Subcommands.Single(c => c.Name == "download").Options.Single(o => o.Name == "--cache-dir").Description;
        Assert.Equal(["HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME"], read);
        Assert.All(read, v => Assert.Contains("$" + v, help, StringComparison.Ordinal));
        Assert.True(HubOptions.IsTrue("1") && HubOptions.IsTrue("yes") && HubOptions.IsTrue("ON"));
        Assert.False(HubOptions.IsTrue("0") || HubOptions.IsTrue(null) || HubOptions.IsTrue(""));
    }
    [Fact]
    public void Token_follows_huggingface_hubs_order_environment_then_login_file()
    {
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        var files = new Dictionary<string, string>
        {
            ["/t/tok"] = "hf_path\n",
            [Path.Combine("/h", "token")] = "  hf_home  ",
            [Path.Combine("/x", "huggingface", "token")] = "hf_xdg",
            [Path.Combine(home, ".cache", "huggingface", "token")] = "hf_default",
        };
        string? Read(string p) => files.GetValueOrDefault(p);
        Func<string, string?> Env(params (string Name, string Value)[] vars) => n => vars.FirstOrDefault(v => v.Name == n).Value;

        Assert.Equal("hf_env", HubOptions.DefaultToken(Env(("HF_TOKEN", "hf_env"), ("HUGGING_FACE_HUB_TOKEN", "hf_legacy"), ("HF_HOME", "/h")), Read));
        Assert.Equal("hf_legacy", HubOptions.DefaultToken(Env(("HUGGING_FACE_HUB_TOKEN", "hf_legacy"), ("HF_HOME", "/h")), Read));
        Assert.Equal("hf_path", HubOptions.DefaultToken(Env(("HF_TOKEN_PATH", "/t/tok"), ("HF_HOME", "/h")), Read));
        Assert.Equal("hf_home", HubOptions.DefaultToken(Env(("HF_HOME", "/h"), ("XDG_CACHE_HOME", "/x")), Read));
        Assert.Equal("hf_xdg", HubOptions.DefaultToken(Env(("XDG_CACHE_HOME", "/x")), Read));
        Assert.Equal("hf_default", HubOptions.DefaultToken(Env(), Read));
        // An empty login file, or none, means no token: requests go out anonymous.
        Assert.Null(HubOptions.DefaultToken(Env(("HF_HOME", "/empty")), p => p == Path.Combine("/empty", "token") ? " \n" : null));
        Assert.Null(HubOptions.DefaultToken(Env(("HF_HOME", "/none")), _ => null));
    }
}
