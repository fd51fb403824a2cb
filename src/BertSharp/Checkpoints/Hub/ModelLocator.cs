using BertSharp.IO;

namespace BertSharp.Checkpoints;

/// <summary>Turns what a user typed (<c>./my-model</c>, <c>bert-base-uncased</c>, <c>org/name</c>) into a local checkpoint directory.</summary>
public static class ModelLocator
{
    /// <summary>
    /// An existing directory is returned as is (full path). Anything else must be a Hub model id: a fully cached snapshot
    /// for the revision is returned without any network access, else (unless offline) the model is downloaded first.
    /// </summary>
    /// <exception cref="BertSharpException">
    /// A path that does not exist, an invalid id, or a model that cannot be fetched (the message then says both that no such
    /// local directory exists and what the Hub answered).
    /// </exception>
    public static string Resolve(string idOrPath, HubOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(idOrPath);
        if (Directory.Exists(idOrPath))
        {
            return Path.GetFullPath(idOrPath);
        }
        if (File.Exists(idOrPath))
        {
            // An ONNX graph is what .NET users often hold; it becomes such a directory by import.
            var onnx = idOrPath.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)
                ? " (an ONNX graph: import it into one with OnnxImport.Convert)"
                : "";
            throw new BertSharpException($"{idOrPath}: is a file; pass the checkpoint directory that holds config.json{onnx}.");
        }
        if (LooksLikePath(idOrPath))
        {
            throw new BertSharpException($"{idOrPath}: no such directory.");
        }
        HubCache.ValidateRepoId(idOrPath);
        options ??= new HubOptions();
        try
        {
            using var client = new HubClient(options);
            return client.FindCachedModel(idOrPath, options.Revision) ?? client.DownloadModel(idOrPath, options.Revision).SnapshotDir;
        }
        catch (BertSharpException e)
        {
            // 'runs/my-model' mistyped reads as a Hub id; the Hub's answer alone ("cannot reach huggingface.co") hides that
            // the directory the user meant is not there. The fields keep their markers, for a front end to name its way. The
            // line starts with the id, so the Hub's answer says "the model" and its files' names without it again.
            var answer = System.Text.RegularExpressions.Regex.Replace(
                e.Render(BertSharpException.Field).Replace($"model '{idOrPath}'", "the model", StringComparison.Ordinal),
                @"(?<=^| )" + System.Text.RegularExpressions.Regex.Escape(idOrPath) + "/", "", System.Text.RegularExpressions.RegexOptions.CultureInvariant);
            throw new BertSharpException($"{idOrPath}: no local directory {Path.GetFullPath(idOrPath)}, and as a Hub model id: {answer}", e);
        }
    }

    /// <summary>Whether <paramref name="s"/> names a Hub model: no local directory, and not written as a path.</summary>
    internal static bool IsHubId(string s) => !Directory.Exists(s) && !LooksLikePath(s);

    /// <summary>
    /// The model as a run's record names it: a Hub id as typed (the full path of a directory named by the id, which does not
    /// exist, would send a reader of the record nowhere), a directory by its full path.
    /// </summary>
    internal static string Recorded(string idOrDir) => IsHubId(idOrDir) ? idOrDir : AtomicFile.Normalize(idOrDir);

    private static bool LooksLikePath(string s) =>
        s.StartsWith('.') || s.StartsWith('/') || s.StartsWith('~') || s.Contains('\\', StringComparison.Ordinal)
        || s.EndsWith('/') || s.Count(c => c == '/') > 1;
}
