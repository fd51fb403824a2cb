namespace BertSharp.Checkpoints;

/// <summary>Turns what a user typed (<c>./my-model</c>, <c>bert-base-uncased</c>, <c>org/name</c>) into a local checkpoint directory.</summary>
public static class ModelLocator
{
    /// <summary>
    /// An existing directory is returned as is (full path). Anything else must be a Hub model id: a fully cached snapshot
    /// for the revision is returned without any network access, else (unless offline) the model is downloaded first.
    /// </summary>
    /// <exception cref="BertSharpException">A path that does not exist, an invalid id, or a model that cannot be fetched.</exception>
    public static string Resolve(string idOrPath, HubOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(idOrPath);
        if (Directory.Exists(idOrPath))
        {
            return Path.GetFullPath(idOrPath);
        }
        if (File.Exists(idOrPath))
        {
            throw new BertSharpException($"{idOrPath}: is a file; pass the checkpoint directory that holds config.json.");
        }
        if (LooksLikePath(idOrPath))
        {
            throw new BertSharpException($"{idOrPath}: no such directory.");
        }
        options ??= new HubOptions();
        using var client = new HubClient(options);
        return client.FindCachedModel(idOrPath, options.Revision) ?? client.DownloadModel(idOrPath, options.Revision).SnapshotDir;
    }

    private static bool LooksLikePath(string s) =>
        s.StartsWith('.') || s.StartsWith('/') || s.StartsWith('~') || s.Contains('\\', StringComparison.Ordinal)
        || s.EndsWith('/') || s.Count(c => c == '/') > 1;
}
