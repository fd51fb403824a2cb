using System.Text;
using BertSharp.Checkpoints;
using BertSharp.Tests.Distributed;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Checkpoints.Hub;

// --include/--exclude on the command line, and the Hub's 307/308 on upload's API requests (a renamed repo), which requests
// follows for huggingface_hub with the same method and body, dropping the token on another host; BertSharp refuses that host.
public sealed partial class HubUploadTests
{
    [Fact]
    public void Exclude_of_the_weights_commits_the_rest_and_leaves_the_repos_weights_as_they_were()
    {
        _hub.AddRepo("org/up", ("model.safetensors", Weights, true));
        var dir = ModelDir(weights: [1, 0, 2]);
        File.WriteAllText(Path.Combine(dir, ".gitattributes"), "*.safetensors filter=lfs diff=lfs merge=lfs -text\n");
        using var env = new EnvScope(("HF_TOKEN", Token));
        var r = CliRunner.Run("upload", "--model", dir, "--repo", "org/up", "--exclude", "*.safetensors", "--exclude", "1_Pooling/",
            "--include", "*.json", "--include", ".git*", "--endpoint", _hub.Endpoint);
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Equal([".gitattributes", "config.json", "modules.json"], Assert.Single(_hub.Commits).Paths);
        using var client = new HubClient(Options());
        var snapshot = client.DownloadModel("org/up").SnapshotDir;
        Assert.Equal(Weights, File.ReadAllBytes(Path.Combine(snapshot, "model.safetensors")));
        Assert.Equal(Config, File.ReadAllBytes(Path.Combine(snapshot, "config.json")));

        int before = _hub.Requests.Count;
        CliRunner.Run("upload", "--model", dir, "--repo", "org/up", "--include", "nothing*", "--endpoint", _hub.Endpoint)
            .AssertOneLineError($"error: {dir}: --include/--exclude left no file to upload; nothing was uploaded.");
        Assert.Equal(before, _hub.Requests.Count);
    }

    [Fact]
    public void A_renamed_repo_is_followed_with_the_same_method_body_and_token()
    {
        _hub.AddRepo("org/new");
        _hub.Renamed["org/old"] = "org/new";
        int creates = 0;
        // A moved create endpoint answers 308 once: the same POST, body included, must reach it again.
        _hub.ApiRedirect = r => r.Path == "/api/repos/create" && creates++ == 0 ? ("/api/repos/create", 308) : (null, 0);
        using (var client = new HubClient(Options()))
        {
            var result = client.UploadFolder(ModelDir(), "org/old", new HubUploadOptions { CreateRepo = true, Private = true });
            Assert.Equal("org/old", result.RepoId);
        }
        Assert.Equal("org/new", Assert.Single(_hub.Commits).RepoId);
        Assert.Equal("private", _hub.Created["org/old"]);
        foreach (var (old, now) in new[]
        {
            ("/api/repos/create", "/api/repos/create"), ("/api/models/org/old/preupload/main", "/api/models/org/new/preupload/main"),
            ("/org/old.git/info/lfs/objects/batch", "/org/new.git/info/lfs/objects/batch"), ("/api/models/org/old/commit/main", "/api/models/org/new/commit/main"),
        })
        {
            var sent = _hub.Requests.Where(q => q.Method == "POST" && (q.Path == old || q.Path == now)).ToList();
            Assert.Equal(2, sent.Count);
            Assert.Equal(sent[0].Body, sent[1].Body);
            Assert.Equal((sent[0].ContentType, sent[0].Accept), (sent[1].ContentType, sent[1].Accept));
            Assert.All(sent, q => Assert.Equal("Bearer " + Token, q.Authorization));
        }
    }

    [Fact]
    public void A_redirect_to_another_host_or_round_in_a_loop_is_refused_without_committing()
    {
        _hub.AddRepo("org/up");
        var dir = ModelDir();
        // localhost is the same server under another name: a client that followed would hand it the token.
        _hub.ApiRedirect = r => r.Path.Contains("/preupload/", StringComparison.Ordinal) ? ($"http://localhost:{_hub.HubPort}{r.Path}", 307) : (null, 0);
        using (var client = new HubClient(Options()))
        {
            Assert.Equal($"upload to model 'org/up': preupload: the Hub redirected to http://localhost:{_hub.HubPort}, another host; refused (the token goes only to {_hub.Endpoint}).",
                Assert.Throws<BertSharpException>(() => client.UploadFolder(dir, "org/up")).Message);
            Assert.Single(HubRequests("POST", "/preupload/"));

            _hub.ApiRedirect = r => r.Path.Contains("/commit/", StringComparison.Ordinal) ? (r.Path, 307) : (null, 0);
            Assert.Equal("upload to model 'org/up': commit: redirected more than 5 times (a redirect loop?); refused.",
                Assert.Throws<BertSharpException>(() => client.UploadFolder(dir, "org/up")).Message);
        }
        Assert.Equal(6, HubRequests("POST", "/commit/").Count);
        Assert.Empty(_hub.Commits);
    }
}
