using System.Text;
using System.Text.Json.Nodes;
using BertSharp.Checkpoints;
using BertSharp.Inference;
using BertSharp.Tests.Distributed;
using BertSharp.Tests.Inference;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;

namespace BertSharp.Tests.Checkpoints.Hub;

/// <summary>
/// A Hub download brings a sentence-transformers model's modules.json and its Pooling module's config.json, so that a Hub id
/// embeds as the model's own <c>encode</c> does, online and offline; a modules.json naming a path outside the repo is refused.
/// </summary>
[Collection(SerialCollection.Name)]
[Trait(SerialCollection.TraitName, SerialCollection.TraitValue)]
public sealed class HubSentenceTransformerTests : IDisposable
{
    private readonly FakeHub _hub = new();
    private readonly TempDir _cache = TestPaths.TempDir();
    private static readonly string Plain = HfFixture.Dir("base-model");
    private static readonly string[] Texts = ["the cat sat on the mat .", "a heartfelt family drama"];

    private static readonly byte[] MeanNormalized = Encoding.UTF8.GetBytes(
        """[{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"}, """ +
        """{"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}, """ +
        """{"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}]""");

    private static readonly byte[] MeanPooling = Encoding.UTF8.GetBytes(
        """{"word_embedding_dimension": 64, "pooling_mode_cls_token": false, "pooling_mode_mean_tokens": true, "pooling_mode_max_tokens": false}""");

    public void Dispose()
    {
        _hub.Dispose();
        _cache.Dispose();
    }

    /// <summary>The base-model fixture served as <paramref name="repo"/>, with <paramref name="extra"/> files beside it.</summary>
    private string AddModel(string repo, params (string Name, byte[] Content)[] extra) => _hub.AddRepo(repo,
        [.. Directory.GetFiles(Plain).Where(f => Path.GetFileName(f) != "reference.safetensors")
            .Select(f => (Path.GetFileName(f), File.ReadAllBytes(f), f.EndsWith(".safetensors", StringComparison.Ordinal))),
         .. extra.Select(e => (e.Name, e.Content, false))]);

    private string RepoDir(string repo) => Path.Combine(_cache.Path, "models--" + repo.Replace("/", "--", StringComparison.Ordinal));

    private HubOptions Options() => new() { Endpoint = _hub.Endpoint, CacheDir = _cache.Path, ReadTimeout = TimeSpan.FromSeconds(20) };

    private static float[][] Embed(TempDir tmp, string model, string expectedPlan)
    {
        File.WriteAllLines(tmp.File("in.txt"), Texts);
        var output = tmp.File("e.jsonl");
        File.Delete(output);
        var r = CliRunner.Run("embed", "--model", model, "--input", tmp.File("in.txt"), "--output", output);
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Equal(expectedPlan, r.StdErr.Trim().Split('\n')[^1].Trim());
        return [.. File.ReadAllLines(output).Select(l => JsonNode.Parse(l)!["embedding"]!.AsArray().Select(v => (float)v!).ToArray())];
    }

    private static void AssertVectors(float[][] expected, float[][] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            InferenceFixtures.AssertClose(expected[i], actual[i], 1e-5, $"text {i}");
        }
    }

    [Fact]
    public void A_hub_id_brings_modules_json_and_the_pooling_config_and_embeds_with_them_online_and_offline()
    {
        var commit = AddModel("org/st", ("modules.json", MeanNormalized), ("1_Pooling/config.json", MeanPooling));
        using var tmp = TestPaths.TempDir();
        float[][] online;
        using (new EnvScope(("HF_ENDPOINT", _hub.Endpoint), ("HF_HUB_CACHE", _cache.Path), ("HF_HUB_OFFLINE", null), ("HF_HOME", null)))
        {
            online = Embed(tmp, "org/st", "pooling: mean (1_Pooling/config.json), normalize: true (modules.json Normalize)");
        }
        using (var plain = FeatureExtraction.Load(Plain, "cpu"))
        {
            AssertVectors(plain.Embed(Texts, new FeatureExtractionOptions(Pooling.Mean, true)), online);
        }
        // Nested as huggingface_hub makes it: snapshots/<commit>/1_Pooling/config.json → ../../../blobs/<git sha1>.
        var snapshot = Path.Combine(RepoDir("org/st"), "snapshots", commit);
        var pooling = new FileInfo(Path.Combine(snapshot, "1_Pooling", "config.json"));
        Assert.Equal(Path.Combine("..", "..", "..", "blobs", FakeHub.GitSha1(MeanPooling)), pooling.LinkTarget);
        Assert.Equal(MeanPooling, File.ReadAllBytes(pooling.FullName));
        Assert.Equal(MeanNormalized, File.ReadAllBytes(Path.Combine(snapshot, "modules.json")));

        // A later run without the network finds both in the cache.
        var requests = _hub.Requests.Count;
        using (new EnvScope(("HF_HUB_OFFLINE", "1"), ("HF_HUB_CACHE", _cache.Path), ("HF_ENDPOINT", null), ("HF_HOME", null)))
        {
            AssertVectors(online, Embed(tmp, "org/st", "pooling: mean (1_Pooling/config.json), normalize: true (modules.json Normalize)"));
        }
        Assert.Equal(requests, _hub.Requests.Count);
    }

    [Fact]
    public void A_repo_without_modules_json_is_downloaded_as_before_with_the_file_marked_missing()
    {
        var commit = AddModel("org/plain");
        using var client = new HubClient(Options());
        var result = client.DownloadModel("org/plain");
        Assert.Equal(["config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"], result.Files.Select(f => f.Name));
        Assert.True(File.Exists(Path.Combine(RepoDir("org/plain"), ".no_exist", commit, "modules.json")));
        Assert.False(Directory.Exists(Path.Combine(result.SnapshotDir, "1_Pooling")));
        Assert.Equal(0, _hub.Count("HEAD", "1_Pooling"));
        Assert.Equal(0, _hub.Count("HEAD", "sentence_bert_config.json"));
    }

    [Fact]
    public void A_hub_id_brings_sentence_bert_config_json_when_the_repo_has_it_and_marks_it_missing_when_not()
    {
        var config = Encoding.UTF8.GetBytes("{\n  \"max_seq_length\": 8,\n  \"do_lower_case\": false\n}");
        AddModel("org/st-len", ("modules.json", MeanNormalized), ("1_Pooling/config.json", MeanPooling), ("sentence_bert_config.json", config));
        var without = AddModel("org/st-nolen", ("modules.json", MeanNormalized), ("1_Pooling/config.json", MeanPooling));
        using var client = new HubClient(Options());
        var result = client.DownloadModel("org/st-len");
        Assert.Equal("sentence_bert_config.json", result.Files[^1].Name);
        var file = new FileInfo(Path.Combine(result.SnapshotDir, "sentence_bert_config.json"));
        Assert.Equal(Path.Combine("..", "..", "blobs", FakeHub.GitSha1(config)), file.LinkTarget);
        Assert.Equal(config, File.ReadAllBytes(file.FullName));
        Assert.Equal(8, SentenceTransformerModules.Read(result.SnapshotDir)!.MaxSeqLength);

        var plain = client.DownloadModel("org/st-nolen");
        Assert.DoesNotContain(plain.Files, f => f.Name == "sentence_bert_config.json");
        Assert.True(File.Exists(Path.Combine(RepoDir("org/st-nolen"), ".no_exist", without, "sentence_bert_config.json")));
        Assert.Null(SentenceTransformerModules.Read(plain.SnapshotDir)!.MaxSeqLength);
    }

    [Theory]
    // Each would land in the cache root, beside the repo's folder, from its snapshot or its .no_exist folder; ABS is an
    // absolute path there.
    [InlineData("../../../evil", "field '[1].path'")]
    [InlineData("1_Pooling/../../../../evil", "field '[1].path'")]
    [InlineData("ABS", "field '[1].path'")]
    [InlineData("[{\"type\": ", "line 1: not valid JSON")]
    public void A_modules_json_naming_a_path_outside_the_repo_or_malformed_is_refused_writing_nothing_outside_the_snapshot(string path, string message)
    {
        path = path == "ABS" ? Path.Combine(_cache.Path, "evil") : path;
        var modules = path.StartsWith('[') ? Encoding.UTF8.GetBytes(path) : Encoding.UTF8.GetBytes(
            $$"""[{"path": "", "type": "sentence_transformers.models.Transformer"}, {"path": "{{path}}", "type": "sentence_transformers.models.Pooling"}]""");
        AddModel("org/evil", ("modules.json", modules));
        using var client = new HubClient(Options());
        var e = Assert.Throws<BertSharpException>(() => client.DownloadModel("org/evil"));
        Assert.Single(e.Message.Split('\n'));
        Assert.Contains(Path.Combine("models--org--evil", "snapshots"), e.Message, StringComparison.Ordinal);
        Assert.Contains("modules.json", e.Message, StringComparison.Ordinal);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        // Nothing named by the path was asked for or written anywhere in the cache (the .no_exist marker of a missing file
        // would have been the first), and the download is not recorded as done.
        Assert.Equal(0, _hub.Count("HEAD", "evil/config.json"));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_cache.Path, "evil", SearchOption.AllDirectories));
        Assert.False(File.Exists(Path.Combine(RepoDir("org/evil"), "refs", "main")));
        // The CLI names the file by the id typed.
        using (new EnvScope(("HF_ENDPOINT", _hub.Endpoint), ("HF_HUB_CACHE", _cache.Path), ("HF_HUB_OFFLINE", null), ("HF_HOME", null)))
        {
            // The files fetched before modules.json are listed on stdout as they arrive; the refusal is one line.
            var r = CliRunner.Run("download", "org/evil");
            Assert.True(r.ExitCode == 2, r.StdErr);
            var line = Assert.Single(r.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("error: org/evil/modules.json", line, StringComparison.Ordinal);
            Assert.Contains(message, line, StringComparison.Ordinal);
        }
    }
}
