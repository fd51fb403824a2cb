using System.CommandLine;
using System.Text.RegularExpressions;
using BertSharp.Checkpoints;
using BertSharp.IO;

namespace BertSharp.Cli;

/// <summary>
/// A failure about a file of a Hub model said by the model id the user typed: <c>--model bert-base-uncased</c> resolves to
/// <c>~/.cache/huggingface/hub/models--bert-base-uncased/snapshots/86b5e0934494bd15c9632b12f734a8a67f723594</c>, which the
/// library names, and which the user never typed.
/// </summary>
internal static class HubModelNames
{
    /// <summary>
    /// <paramref name="failure"/> with each snapshot directory of a typed Hub id said as that id
    /// (<c>bert-base-uncased/config.json: ...</c>, as the Hub client names a repository's files), or null when it names none.
    /// </summary>
    public static BertSharpException? Name(ParseResult parse, Exception failure)
    {
        ArgumentNullException.ThrowIfNull(parse);
        ArgumentNullException.ThrowIfNull(failure);
        // Looked up only for a failure of the library's kinds, the first time it is renamed.
        List<(string Id, Regex Dir)>? snapshots = null;
        return TypedModelNames.Rename(failure, text => (snapshots ??= Snapshots(parse)).Aggregate(text, (t, s) => s.Dir.Replace(t, s.Id)));
    }

    // A typed value that is no local path and reads as a Hub id is looked up in the cache the command used (its --cache-dir,
    // else the environment's): any of its snapshots, since the revision the command resolved is not known here.
    private static List<(string Id, Regex Dir)> Snapshots(ParseResult parse)
    {
        var cache = Commands.CommonOptions.HubCacheOptions(parse).ResolvedCacheDir;
        var found = new List<(string Id, Regex Dir)>();
        foreach (var (_, value) in CliInput.TypedValues(parse))
        {
            if (Directory.Exists(value) || File.Exists(value) || !IsRepoId(value))
            {
                continue;
            }
            var snapshots = Path.Combine(new HubCache(cache, value).RepoDir, "snapshots");
            found.Add((value, new Regex(Regex.Escape(snapshots) + @"[/\\][^/\\\s:;,()']+", RegexOptions.CultureInvariant)));
        }
        return found;
    }

    private static bool IsRepoId(string value)
    {
        try
        {
            HubCache.ValidateRepoId(value);
            return true;
        }
        catch (BertSharpException)
        {
            return false;
        }
    }
}
