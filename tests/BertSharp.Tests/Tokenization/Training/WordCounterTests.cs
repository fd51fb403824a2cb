using BertSharp.IO;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tokenization;
using BertSharp.Tokenization.Training;

namespace BertSharp.Tests.Tokenization.Training;

/// <summary>The trainer's input, counted by BertSharp, must equal the word counts HF's trainer feeds on (see fixture README).</summary>
public class WordCounterTests
{
    private static string Dir => Path.Combine(TestPaths.Fixtures, "tokenization", "wordpiece_trainer");

    private static void AssertSameCounts(Dictionary<string, long> expected, Dictionary<string, long> actual)
    {
        var missing = expected.Where(kv => !actual.TryGetValue(kv.Key, out var c) || c != kv.Value).Take(5).ToList();
        var extra = actual.Keys.Where(k => !expected.ContainsKey(k)).Take(5).ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0,
            $"differs: HF {string.Join(", ", missing.Select(kv => $"'{kv.Key}'={kv.Value}"))}; not in HF: {string.Join(", ", extra)}");
        Assert.Equal(expected.Count, actual.Count);
    }

    [Theory]
    [InlineData("alice.txt.gz", "alice.uncased", true)]
    [InlineData("multi.txt.gz", "multi.cased", false)]
    public void Bert_word_counts_equal_hfs(string corpus, string name, bool lowercase)
    {
        var counts = WordCounter.CountBertWords(TextLines.Read(Path.Combine(Dir, corpus)), new NormalizerOptions(Lowercase: lowercase), threads: 2);
        AssertSameCounts(HfTrainerReferenceTests.LoadWords(name), counts);
    }

    [SkippableFact]
    public void Bert_word_counts_equal_hfs_on_moby_dick()
    {
        var corpus = TestPaths.RequireShared("data", "corpus", "gutenberg", "pg2701.txt");
        var counts = WordCounter.CountBertWords(TextLines.Read(corpus), new NormalizerOptions(Lowercase: true), threads: 2);
        AssertSameCounts(HfTrainerReferenceTests.LoadWords("moby.uncased"), counts);
    }

    [Trait(SlowFirstOrderer.Category, SlowFirstOrderer.Slow)]
    [SkippableFact]
    public void Bert_word_counts_equal_hfs_on_50000_imdb_reviews()
    {
        var corpus = TestPaths.RequireShared("data", "corpus", "imdb_unsup_reviews.txt.gz");
        var counts = WordCounter.CountBertWords(TextLines.Read(corpus), new NormalizerOptions(Lowercase: true), threads: 2);
        AssertSameCounts(HfTrainerReferenceTests.LoadWords("imdb.uncased"), counts);
    }
}
