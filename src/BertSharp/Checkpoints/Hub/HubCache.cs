using System.Text.RegularExpressions;
using BertSharp.IO;

namespace BertSharp.Checkpoints;

/// <summary>
/// The huggingface_hub cache layout for one model repo, so that BertSharp and Python share downloads:
/// <c>models--org--name/{blobs/&lt;etag&gt;, snapshots/&lt;commit&gt;/&lt;file&gt; → ../../blobs/&lt;etag&gt;, refs/&lt;revision&gt;, .no_exist/&lt;commit&gt;/&lt;file&gt;}</c>.
/// </summary>
public sealed partial class HubCache
{
    /// <summary>
    /// The cache of <paramref name="repoId"/> (<c>name</c> or <c>org/name</c>) under the cache root
    /// <paramref name="cacheDir"/> (huggingface_hub's <c>HF_HUB_CACHE</c>, made absolute). Creates nothing on disk.
    /// </summary>
    /// <exception cref="BertSharpException">
    /// <paramref name="repoId"/> is not a valid Hub model id (<see cref="ValidateRepoId"/>).
    /// </exception>
    public HubCache(string cacheDir, string repoId)
    {
        RepoId = ValidateRepoId(repoId);
        RepoDir = Path.Combine(Path.GetFullPath(cacheDir), "models--" + RepoId.Replace("/", "--", StringComparison.Ordinal));
    }

    /// <summary>The validated Hub repo id, <c>name</c> or <c>org/name</c>.</summary>
    public string RepoId { get; }

    /// <summary><c>&lt;cache&gt;/models--org--name</c>.</summary>
    public string RepoDir { get; }

    /// <summary>
    /// Where the blob with <paramref name="etag"/> (its sha256 for LFS files, git's blob id otherwise) is stored:
    /// <c>blobs/&lt;etag&gt;</c>.
    /// </summary>
    public string BlobPath(string etag) => Path.Combine(RepoDir, "blobs", etag);

    /// <summary>
    /// The directory of the files at <paramref name="commit"/> (a 40-hex commit hash): <c>snapshots/&lt;commit&gt;</c>.
    /// </summary>
    public string SnapshotDir(string commit) => Path.Combine(RepoDir, "snapshots", commit);

    /// <summary>
    /// The empty marker file saying <paramref name="file"/> does not exist at <paramref name="commit"/>:
    /// <c>.no_exist/&lt;commit&gt;/&lt;file&gt;</c>.
    /// </summary>
    public string NoExistPath(string commit, string file) => Path.Combine(RepoDir, ".no_exist", commit, file);

    /// <summary>The commit a revision points to: the revision itself when it is a commit hash, else <c>refs/&lt;revision&gt;</c>.</summary>
    public string? ResolveCommit(string revision)
    {
        if (IsCommitHash(revision))
        {
            return revision;
        }
        var refPath = RefPath(revision);
        if (!File.Exists(refPath))
        {
            return null;
        }
        var commit = File.ReadAllText(refPath).Trim();
        return IsCommitHash(commit) ? commit : null;
    }

    /// <summary>
    /// Records that <paramref name="revision"/> (a branch or tag) points to <paramref name="commit"/> in
    /// <c>refs/&lt;revision&gt;</c>, written atomically; nothing is written when the revision is itself a commit hash
    /// or the ref already holds that commit.
    /// </summary>
    public void WriteRef(string revision, string commit)
    {
        if (!IsCommitHash(revision) && ResolveCommit(revision) != commit)
        {
            AtomicFile.WriteAllText(RefPath(revision), commit);
        }
    }

    /// <summary>Points <c>snapshots/&lt;commit&gt;/&lt;file&gt;</c> at the blob: a relative symlink as huggingface_hub makes, or a copy where links are not allowed.</summary>
    public string LinkSnapshot(string commit, string file, string etag)
    {
        var target = Path.Combine(SnapshotDir(commit), file);
        var dir = Path.GetDirectoryName(target)!;
        var blob = BlobPath(etag);
        var tmp = AtomicFile.TempPath(target, AtomicFile.NewId());
        try
        {
            FolderFile.Open(tmp, () =>
            {
                BeforeLink.Value?.Invoke(tmp);
                return File.CreateSymbolicLink(tmp, Path.GetRelativePath(dir, blob));
            });
            File.Move(tmp, target, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            File.Delete(tmp);
            AtomicFile.Write(target, s =>
            {
                using var src = File.OpenRead(blob);
                src.CopyTo(s);
            });
        }
        if (File.Exists(NoExistPath(commit, file)))
        {
            File.Delete(NoExistPath(commit, file));
        }
        return target;
    }

    /// <summary>
    /// Tests only: runs just before a snapshot's link is made, to fail it as a filesystem without links does (vfat, some
    /// network shares), which a test cannot mount unprivileged. Flows into a download's tasks.
    /// </summary>
    internal static readonly AsyncLocal<Action<string>?> BeforeLink = new();

    /// <summary>Records that <paramref name="file"/> does not exist at <paramref name="commit"/> (so offline runs know too).</summary>
    public void MarkMissing(string commit, string file)
    {
        var p = NoExistPath(commit, file);
        FolderFile.Open(p, () =>
        {
            File.WriteAllBytes(p, []);
            return true;
        });
    }

    /// <summary>
    /// Whether <see cref="MarkMissing"/> recorded that <paramref name="file"/> does not exist at
    /// <paramref name="commit"/>.
    /// </summary>
    public bool IsKnownMissing(string commit, string file) => File.Exists(NoExistPath(commit, file));

    /// <summary>A file of the snapshot, if present and (for links) pointing at an existing blob.</summary>
    public string? SnapshotFile(string commit, string file)
    {
        var p = Path.Combine(SnapshotDir(commit), file);
        // Not File.Exists: a link whose blob was deleted made a cached model "complete", used without a download and then
        // not found.
        return LinkedFile.Exists(p) ? p : null;
    }

    private string RefPath(string revision) => Path.Combine(RepoDir, "refs", revision);

    /// <summary>Whether <paramref name="s"/> is a full commit hash: exactly 40 lowercase hexadecimal digits.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="s"/> is null.</exception>
    public static bool IsCommitHash(string s) => CommitRegex().IsMatch(s);

    /// <summary>Hub repo ids: <c>name</c> or <c>org/name</c>, letters, digits, '-', '_', '.', no '--' or '..', at most 96 characters.</summary>
    public static string ValidateRepoId(string repoId)
    {
        ArgumentNullException.ThrowIfNull(repoId);
        if (!IsValidRepoId(repoId))
        {
            throw new BertSharpException(
                $"'{repoId}' is neither an existing directory nor a valid Hub model id (expected 'name' or 'org/name': letters, digits, '-', '_', '.').");
        }
        return repoId;
    }

    /// <summary>Whether <paramref name="repoId"/> passes <see cref="ValidateRepoId"/>, for callers that word the refusal themselves.</summary>
    internal static bool IsValidRepoId(string repoId) =>
        RepoIdRegex().IsMatch(repoId) && !repoId.Contains("--", StringComparison.Ordinal) && !repoId.Contains("..", StringComparison.Ordinal)
        && repoId.Length <= 96 && !repoId.EndsWith('.') && !repoId.EndsWith('-');

    /// <summary>
    /// Revisions are branch/tag names or commit hashes; they become file names under refs/, so they follow git's ref-name
    /// rules: '/'-separated parts that are not empty and do not start with '.' or end with '.lock' (no '.', '..', 'x/', '//').
    /// </summary>
    public static string ValidateRevision(string revision)
    {
        if (string.IsNullOrWhiteSpace(revision) || !RevisionRegex().IsMatch(revision)
            || revision.Split('/').Any(part => part.EndsWith(".lock", StringComparison.Ordinal)))
        {
            throw new BertSharpException($"{BertSharpException.Field("revision")} '{revision}': expected a branch, tag or commit hash (parts separated by '/', none empty or starting with '.').");
        }
        return revision;
    }

    [GeneratedRegex("^[0-9a-f]{40}$")]
    private static partial Regex CommitRegex();

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_.\-]*(/[A-Za-z0-9][A-Za-z0-9_.\-]*)?$")]
    private static partial Regex RepoIdRegex();

    [GeneratedRegex(@"^[A-Za-z0-9_\-][A-Za-z0-9_.\-]*(/[A-Za-z0-9_\-][A-Za-z0-9_.\-]*)*$")]
    private static partial Regex RevisionRegex();
}
