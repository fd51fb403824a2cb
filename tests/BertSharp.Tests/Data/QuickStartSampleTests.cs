using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Data;

/// <summary>
/// samples/sst2/train-sentences.tsv (what ./quickstart.sh fine-tunes on) against GLUE SST-2's train.tsv in ../shared: every row is
/// a training row with its GLUE label, and it is a whole sentence — no part of a longer row — as scripts/sst2-sentences.py claims.
/// </summary>
public class QuickStartSampleTests
{
    private static string[][] Rows(string path) =>
        [.. File.ReadLines(path).Skip(1).Select(l => l.Split('\t')).Select(c => new[] { c[0].Trim(), c[1] })];

    [SkippableFact]
    public void Quick_start_sample_is_2000_whole_sst2_training_sentences_with_their_glue_labels()
    {
        var glue = Rows(TestPaths.RequireShared("data", "glue_sst2", "train.tsv"));
        var sample = Rows(Path.Combine(TestPaths.RepoRoot, "samples", "sst2", "train-sentences.tsv"));

        Assert.Equal(2000, sample.Length);
        Assert.Equal(2000, sample.Select(r => r[0]).Distinct().Count());
        var labels = new Dictionary<string, string>();
        foreach (var r in glue)
        {
            labels.TryAdd(r[0], r[1]);
        }
        foreach (var r in sample)
        {
            Assert.True(labels.TryGetValue(r[0], out var label), $"not a GLUE SST-2 training row: {r[0]}");
            Assert.Equal(label, r[1]);
        }

        // Whole sentences: no other training row contains the row as a run of whole words. Checked on every tenth row (each
        // check scans all 67,349 rows).
        var haystack = string.Concat(glue.Select(r => " " + r[0] + " \n"));
        for (var i = 0; i < sample.Length; i += 10)
        {
            var needle = " " + sample[i][0] + " ";
            var first = haystack.IndexOf(needle + "\n", StringComparison.Ordinal);
            Assert.True(first >= 0);
            var hits = 0;
            for (var at = haystack.IndexOf(needle, StringComparison.Ordinal); at >= 0; at = haystack.IndexOf(needle, at + 1, StringComparison.Ordinal))
            {
                // A hit that is the whole row starts right after a line break (or at 0) and ends at one.
                var wholeRow = (at == 0 || haystack[at - 1] == '\n') && haystack[at + needle.Length] == '\n';
                Assert.True(wholeRow, $"row {i + 1} is part of a longer training row: {sample[i][0]}");
                hits++;
            }
            Assert.True(hits >= 1);
        }

        // Labels stay balanced like the dev set (428 / 444): the README's counts.
        Assert.Equal(939, sample.Count(r => r[1] == "0"));
    }
}
