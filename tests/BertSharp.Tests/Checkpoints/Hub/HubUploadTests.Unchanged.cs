using System.Text;
using BertSharp.Checkpoints;
using BertSharp.Tests.Distributed;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Checkpoints.Hub;

// huggingface_hub's create_commit drops the files whose oid on the Hub (preupload) is the local one, and commits nothing when
// no file is left: an upload of an unchanged folder sends nothing and leaves the repo's history as it was.
public sealed partial class HubUploadTests
{
    private const int ModelDirFiles = 6;

    [Fact]
    public void A_second_upload_of_an_unchanged_folder_makes_no_commit_and_sends_no_file()
    {
        _hub.AddRepo("org/up");
        _hub.Renamed["org/old"] = "org/up";
        var dir = ModelDir();
        HubUploadResult first;
        using (var client = new HubClient(Options()))
        {
            first = client.UploadFolder(dir, "org/up");
        }
        Assert.True(first.Committed);
        // Five regular files' lines in the commit and the weights' PUT.
        Assert.Equal(6, _hub.FileBodies);
        int batches = HubRequests("POST", "/lfs/objects/batch").Count;

        using (var client = new HubClient(Options()))
        {
            var again = client.UploadFolder(dir, "org/up");
            Assert.False(again.Committed);
            Assert.All(again.Files, f => Assert.Equal(HubUploadMode.Unchanged, f.Mode));
            // create_commit answers with the branch's head from repo_info.
            Assert.Equal((first.CommitOid, first.CommitUrl), (again.CommitOid, again.CommitUrl));
        }
        // The CLI, through the repo's old name (the revision lookup follows the Hub's 307 as every API request does).
        using var env = new EnvScope(("HF_TOKEN", Token));
        var r = CliRunner.Run("upload", "--model", dir, "--repo", "org/old", "--endpoint", _hub.Endpoint);
        Assert.True(r.ExitCode == 0, r.StdErr);
        var lines = r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(ModelDirFiles + 1, lines.Length);
        Assert.All(lines[..^1], l => Assert.EndsWith("  unchanged (not sent)", l, StringComparison.Ordinal));
        Assert.Equal($"No files have been modified since last commit ({ModelDirFiles} unchanged files): no commit made; org/old stays at {first.CommitOid}.", lines[^1]);

        Assert.Single(_hub.Commits);
        Assert.Equal(6, _hub.FileBodies);
        Assert.Equal(batches, HubRequests("POST", "/lfs/objects/batch").Count);
        Assert.Equal(3, HubRequests("POST", "/preupload/").Count(q => q.Path.Contains("/org/up/", StringComparison.Ordinal)));
    }

    [Fact]
    public void Only_the_changed_file_is_sent_a_regular_one_in_the_commit_an_lfs_one_to_storage()
    {
        _hub.AddRepo("org/up");
        var dir = ModelDir();
        using var client = new HubClient(Options());
        client.UploadFolder(dir, "org/up");
        int bodies = _hub.FileBodies;

        // A regular file changed: its line alone is committed; the weights, held in LFS, are not asked about.
        var config = Encoding.UTF8.GetBytes("{\"model_type\": \"bert\", \"hidden_size\": 32}\n");
        File.WriteAllBytes(Path.Combine(dir, "config.json"), config);
        var second = client.UploadFolder(dir, "org/up");
        Assert.Equal(["config.json"], _hub.Commits[1].Paths);
        Assert.Equal(HubUploadMode.Regular, second.Files.Single(f => f.Mode != HubUploadMode.Unchanged && f.Name == "config.json").Mode);
        Assert.Equal(ModelDirFiles - 1, second.Unchanged);
        Assert.Equal(bodies + 1, _hub.FileBodies);
        Assert.Single(HubRequests("POST", "/lfs/objects/batch"));

        // The LFS file changed: it alone goes, to storage, and is named in the commit; the new config.json is unchanged now.
        byte[] weights = [.. Weights.Select(b => (byte)(b ^ 0x5a))];
        File.WriteAllBytes(Path.Combine(dir, "model.safetensors"), weights);
        using var env = new EnvScope(("HF_TOKEN", Token));
        var r = CliRunner.Run("upload", "--model", dir, "--repo", "org/up", "--endpoint", _hub.Endpoint);
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains($"\n{ModelDirFiles - 1} unchanged files skipped (the repo has the same content).\n", r.StdOut, StringComparison.Ordinal);
        Assert.Equal(["model.safetensors"], _hub.Commits[2].Paths);
        Assert.Equal(bodies + 2, _hub.FileBodies);
        Assert.Equal(weights, _hub.Requests.Last(q => q.Method == "PUT").Body);

        var snapshot = client.DownloadModel("org/up").SnapshotDir;
        Assert.Equal(config, File.ReadAllBytes(Path.Combine(snapshot, "config.json")));
        Assert.Equal(weights, File.ReadAllBytes(Path.Combine(snapshot, "model.safetensors")));
        Assert.Equal(Vocab, File.ReadAllBytes(Path.Combine(snapshot, "vocab.txt")));
    }
}
