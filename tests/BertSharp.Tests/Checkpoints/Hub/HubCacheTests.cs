using BertSharp.Checkpoints;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Checkpoints.Hub;

public class HubCacheTests
{
    [Theory]
    [InlineData("bert-base-uncased", "models--bert-base-uncased")]
    [InlineData("google-bert/bert-base-uncased", "models--google-bert--bert-base-uncased")]
    [InlineData("prajjwal1/bert-tiny", "models--prajjwal1--bert-tiny")]
    public void Repo_folder_names_follow_huggingface_hub(string id, string folder) =>
        Assert.Equal(Path.Combine("/c", folder), new HubCache("/c", id).RepoDir);

    [Theory]
    [InlineData("a/b/c")]
    [InlineData("org/na--me")]
    [InlineData("../etc")]
    [InlineData("org/..")]
    [InlineData("-org/name")]
    [InlineData("name.")]
    [InlineData("with space")]
    [InlineData("")]
    public void Invalid_repo_ids_are_refused(string id) =>
        Assert.Contains("valid Hub model id", Assert.Throws<BertSharpException>(() => new HubCache("/c", id)).Message);

    [Theory]
    [InlineData("../../x")]
    [InlineData("/abs")]
    [InlineData("a\\b")]
    [InlineData("main branch")]
    [InlineData("")]
    public void Revisions_that_would_escape_refs_are_refused(string revision) =>
        Assert.Throws<BertSharpException>(() => HubCache.ValidateRevision(revision));

    // The link is made under a temp name first: a name 14 bytes longer than the file's, past the 255 a file name may have.
    [Fact]
    public void A_file_whose_name_is_near_the_limit_is_linked_to_its_blob()
    {
        using var tmp = TestPaths.TempDir();
        var cache = new HubCache(tmp.Path, "org/m");
        var commit = new string('a', 40);
        var file = new string('w', 246) + ".bin";
        Directory.CreateDirectory(Path.GetDirectoryName(cache.BlobPath("e1"))!);
        File.WriteAllText(cache.BlobPath("e1"), "blob");
        var linked = cache.LinkSnapshot(commit, file, "e1");
        Assert.NotNull(new FileInfo(linked).LinkTarget);
        Assert.Equal("blob", File.ReadAllText(linked));
        Assert.Equal([file], Directory.GetFileSystemEntries(cache.SnapshotDir(commit)).Select(Path.GetFileName));
    }

    [Fact]
    public void Refs_resolve_to_commits_and_garbage_refs_are_ignored()
    {
        using var tmp = TestPaths.TempDir();
        var cache = new HubCache(tmp.Path, "org/m");
        var commit = new string('a', 40);
        Assert.Null(cache.ResolveCommit("main"));
        Assert.Equal(commit, cache.ResolveCommit(commit)); // a commit needs no ref
        cache.WriteRef("main", commit);
        Assert.Equal(commit, File.ReadAllText(Path.Combine(cache.RepoDir, "refs", "main")));
        Assert.Equal(commit, cache.ResolveCommit("main"));
        cache.WriteRef("refs/pr/1", commit);
        Assert.Equal(commit, cache.ResolveCommit("refs/pr/1"));
        File.WriteAllText(Path.Combine(cache.RepoDir, "refs", "main"), "not a commit");
        Assert.Null(cache.ResolveCommit("main"));
    }

    [Theory]
    [InlineData("\"abc123\"", "abc123")]
    [InlineData("W/\"abc-123\"", "abc-123")]
    [InlineData("  \"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\" ", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    [InlineData("\"../../evil\"", null)]
    [InlineData("\"\"", null)]
    [InlineData(null, null)]
    public void ETags_are_normalised_like_huggingface_hub_and_must_be_safe_file_names(string? raw, string? expected) =>
        Assert.Equal(expected, HubClient.NormalizeEtag(raw));
}
