using BertSharp.IO;

namespace BertSharp.Checkpoints;

/// <summary>
/// A failure about a file of a Hub model said by the id typed (<c>bert-base-uncased/config.json: ...</c>, as the Hub client
/// names a repository's files) rather than by the snapshot directory it resolved to
/// (<c>~/.cache/huggingface/hub/models--bert-base-uncased/snapshots/86b5e09.../config.json</c>), which the user never typed.
/// The library renames what its loaders resolved themselves; the CLI renames the rest through <see cref="Rename"/> as well.
/// </summary>
internal static class TypedModelNames
{
    /// <summary>
    /// <paramref name="failure"/> with its message (field markers kept) and, for a <see cref="PathException"/>, its path and
    /// problem passed through <paramref name="named"/>; null when that changes nothing or the failure is not one of the
    /// library's plain kinds.
    /// </summary>
    public static BertSharpException? Rename(Exception failure, Func<string, string> named)
    {
        ArgumentNullException.ThrowIfNull(failure);
        ArgumentNullException.ThrowIfNull(named);
        // Only the library's own kinds: a subclass carries more than its message (an output's entries, a checkpoint).
        if (failure.GetType() != typeof(BertSharpException) && failure.GetType() != typeof(PathException))
        {
            return null;
        }
        var message = ((BertSharpException)failure).Render(BertSharpException.Field);
        if (named(message) == message)
        {
            return null;
        }
        return failure is PathException p
            ? new PathException(named(p.Path), named(p.Problem), failure)
            : new BertSharpException(named(message), failure);
    }

    /// <summary>
    /// <paramref name="load"/>'s result; a failure naming the snapshot <paramref name="dir"/> that the Hub id
    /// <paramref name="idOrDir"/> resolved to is rethrown naming the id instead. A local directory is left as typed.
    /// </summary>
    public static T Load<T>(string idOrDir, string dir, Func<T> load)
    {
        ArgumentNullException.ThrowIfNull(load);
        try
        {
            return load();
        }
        catch (Exception e) when (Rename(e, t => Named(idOrDir, dir, t)) is { } typed)
        {
            throw typed;
        }
    }

    /// <summary>
    /// <paramref name="text"/> with the snapshot <paramref name="dir"/> that the Hub id <paramref name="idOrDir"/> resolved to
    /// said as that id (<c>org/name/config.json</c>); a local directory is left as typed.
    /// </summary>
    public static string Named(string idOrDir, string dir, string text) =>
        Directory.Exists(idOrDir) ? text : text.Replace(dir, idOrDir, StringComparison.Ordinal);
}
