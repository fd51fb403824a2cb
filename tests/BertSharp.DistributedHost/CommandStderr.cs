using BertSharp.Distributed;

namespace BertSharp.DistributedHost;

/// <summary>How the host passes a command's stderr on to its own: each line after the command's name and rank.</summary>
public static class CommandStderr
{
    /// <summary>A writer to <paramref name="inner"/> that starts each line with "COMMAND, rank R: ".</summary>
    public static TextWriter Labelled(TextWriter inner, string command, int rank)
    {
        var rankLabel = RankOutput.Label(rank);
        // A data-parallel bert command labels its lines on ranks other than 0 itself (RankOutput.Apply): its label follows
        // the command's name rather than the rank being named twice ("ner-two, rank 1: rank 1: error: ...").
        return new RankOutput.PrefixWriter(inner, line => line.StartsWith(rankLabel, StringComparison.Ordinal) ? $"{command}, " : $"{command}, {rankLabel}");
    }
}
