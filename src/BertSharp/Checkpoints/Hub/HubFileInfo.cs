namespace BertSharp.Checkpoints;

/// <summary>What a Hub <c>HEAD …/resolve/{revision}/{file}</c> says about a file.</summary>
/// <param name="File">Path of the file inside the repo.</param>
/// <param name="Commit">The commit the revision resolved to (<c>X-Repo-Commit</c>).</param>
/// <param name="ETag">Blob id: the sha256 of the content for LFS files (<c>X-Linked-Etag</c>), the git blob sha1 otherwise.</param>
/// <param name="Size">Size in bytes (<c>X-Linked-Size</c> or <c>Content-Length</c>), when sent.</param>
/// <param name="DownloadUrl">Where the bytes are (the CDN location of an LFS redirect, else the resolve URL).</param>
public sealed record HubFileInfo(string File, string Commit, string ETag, long? Size, Uri DownloadUrl)
{
    /// <summary>True when the ETag is a sha256 of the content, which the download is checked against.</summary>
    public bool IsSha256 => ETag.Length == 64 && ETag.All(Uri.IsHexDigit);
}

/// <summary>One file of a downloaded model.</summary>
/// <param name="Name">Path inside the repo (e.g. <c>config.json</c>).</param>
/// <param name="Path">Local path in the snapshot directory.</param>
/// <param name="Size">Bytes on disk.</param>
/// <param name="Downloaded">False when it was already in the cache.</param>
public sealed record HubFile(string Name, string Path, long Size, bool Downloaded);

/// <summary>The result of fetching a model: the snapshot directory <see cref="StateDictSource"/> and the tokenizer read.</summary>
public sealed record HubDownloadResult(string RepoId, string Commit, string SnapshotDir, IReadOnlyList<HubFile> Files);

/// <summary>Bytes of <paramref name="File"/> on disk so far (resumed bytes included) out of <paramref name="Total"/>, when known.</summary>
public sealed record HubDownloadProgress(string File, long Bytes, long? Total);
