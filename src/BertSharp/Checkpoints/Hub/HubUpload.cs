namespace BertSharp.Checkpoints;

/// <summary>What <see cref="HubClient.UploadFolder"/> commits, beside the folder and repo it is given.</summary>
public sealed record HubUploadOptions
{
    /// <summary>The commit's title (default <c>Upload model using BertSharp</c>).</summary>
    public string? CommitMessage { get; init; }

    /// <summary>The commit's description (default empty).</summary>
    public string? CommitDescription { get; init; }

    /// <summary>
    /// Create the repo first (<c>POST /api/repos/create</c>); a repo that already exists (HTTP 409, or a refusal to create
    /// where the repo is found) is used as it is, as huggingface_hub's <c>create_repo(exist_ok=True)</c> does.
    /// </summary>
    public bool CreateRepo { get; init; }

    /// <summary>Create the repo private; only with <see cref="CreateRepo"/> (an existing repo keeps its visibility).</summary>
    public bool Private { get; init; }

    /// <summary>
    /// huggingface_hub's <c>allow_patterns</c>: when set, only files whose path in the repo matches one of these globs go
    /// (Python's fnmatch: <c>*</c> matches across <c>/</c>, a pattern ending in <c>/</c> is a whole folder). The folder
    /// itself must still be a model directory.
    /// </summary>
    public IReadOnlyList<string>? AllowPatterns { get; init; }

    /// <summary>
    /// huggingface_hub's <c>ignore_patterns</c>: files whose path matches one of these globs stay behind (and the repo's
    /// copies stay as they are). <c>.git</c> and <c>.cache/huggingface</c> are always left out, as upload_folder does.
    /// </summary>
    public IReadOnlyList<string>? IgnorePatterns { get; init; }
}

/// <summary>How one file of an upload reached the Hub.</summary>
public enum HubUploadMode
{
    /// <summary>Stored in git: its bytes went in the commit itself (base64).</summary>
    Regular,

    /// <summary>Stored by git LFS: its bytes were sent to the LFS storage (one PUT, or in parts), the commit names its sha256.</summary>
    Lfs,

    /// <summary>An LFS file whose content the Hub already held (same sha256): not sent again, only named in the commit.</summary>
    LfsAlreadyOnHub,

    /// <summary>Left out of the commit because the repo's <c>.gitignore</c> ignores it (the Hub's <c>shouldIgnore</c>).</summary>
    Ignored,

    /// <summary>
    /// Left out of the commit, nothing sent, because the repo already has this content at this path: the oid the Hub's
    /// preupload gives for it is the local one (sha256 for an LFS file, git's blob sha1 for a regular one), as
    /// huggingface_hub's <c>create_commit</c> drops such no-op files.
    /// </summary>
    Unchanged,
}

/// <summary>One file of an upload.</summary>
/// <param name="Name">Path inside the repo (<c>/</c>-separated, e.g. <c>1_Pooling/config.json</c>).</param>
/// <param name="Size">Bytes.</param>
/// <param name="Mode">How it was sent.</param>
public sealed record HubUploadedFile(string Name, long Size, HubUploadMode Mode);

/// <summary>The commit an upload made, or, when no file had changed, the branch's head that it left as it was.</summary>
/// <param name="RepoId">The repo, <c>name</c> or <c>org/name</c>.</param>
/// <param name="Revision">The branch committed to.</param>
/// <param name="CommitOid">The new commit's hash (the Hub's <c>commitOid</c>); without <see cref="Committed"/>, the branch's head.</param>
/// <param name="CommitUrl">That commit's page (the Hub's <c>commitUrl</c>).</param>
/// <param name="Files">Every file of the folder that was uploaded, in path order.</param>
public sealed record HubUploadResult(string RepoId, string Revision, string CommitOid, string CommitUrl, IReadOnlyList<HubUploadedFile> Files)
{
    /// <summary>
    /// False when every file was <see cref="HubUploadMode.Unchanged"/>: then no commit was made ("No files have been
    /// modified since last commit. Skipping to prevent empty commit.", as huggingface_hub warns).
    /// </summary>
    public bool Committed => Files.Any(f => f.Mode != HubUploadMode.Unchanged);

    /// <summary>How many files were left out as <see cref="HubUploadMode.Unchanged"/>.</summary>
    public int Unchanged => Files.Count(f => f.Mode == HubUploadMode.Unchanged);
}
