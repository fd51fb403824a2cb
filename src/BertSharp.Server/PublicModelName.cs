namespace BertSharp.Server;

/// <summary>
/// The model as <c>/health</c> and the web page name it to every client: a Hub id as given (as HF's text-embeddings-inference
/// shows its model id), a local directory by its final name only (<c>/home/alice/models/x</c> is <c>x</c>), so that a server
/// listening on all interfaces does not tell its clients where its files are.
/// </summary>
internal static class PublicModelName
{
    /// <summary>The name of <paramref name="model"/> (a directory or Hub id, as <see cref="ServedModel.Name"/>) that clients see.</summary>
    public static string Of(string model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!Directory.Exists(model))
        {
            return model;
        }
        // Full first: "." or "runs/x/" have no final name as typed.
        var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(model)));
        // The file system's root has none at all; it tells a client nothing either.
        return name.Length > 0 ? name : Path.GetPathRoot(Path.GetFullPath(model))!;
    }
}
