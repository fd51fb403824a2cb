using System.Globalization;

namespace BertSharp.Checkpoints;

/// <summary>The <c>checkpoint-N</c> directories a training run keeps in its output directory (HF Trainer's layout).</summary>
internal static class RunCheckpoints
{
    /// <summary>The prefix of a checkpoint directory's name; the step follows it.</summary>
    internal const string Prefix = "checkpoint-";

    /// <summary>Every <c>checkpoint-N</c> subdirectory of <paramref name="directory"/> with its step N (none when it does not exist).</summary>
    internal static IEnumerable<(string Dir, long Step)> In(string directory)
    {
        if (!Directory.Exists(directory))
        {
            yield break;
        }
        foreach (var d in Directory.GetDirectories(directory, Prefix + "*"))
        {
            if (long.TryParse(Path.GetFileName(d)[Prefix.Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var n))
            {
                yield return (d, n);
            }
        }
    }

    /// <summary>The checkpoint of <paramref name="directory"/> with the largest step that holds <paramref name="file"/>, or null.</summary>
    internal static string? Newest(string directory, string file) =>
        In(directory).Where(c => File.Exists(Path.Combine(c.Dir, file))).OrderByDescending(c => c.Step).Select(c => c.Dir).FirstOrDefault();
}
