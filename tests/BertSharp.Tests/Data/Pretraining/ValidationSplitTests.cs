using System.Text.RegularExpressions;
using System.IO.Compression;
using BertSharp.Data.Pretraining;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tokenization;
using Xunit.Abstractions;

namespace BertSharp.Tests.Data.Pretraining;

/// <summary><c>pretrain-data --validation-split-percentage</c>: whole documents held out, their instances a split of their own.</summary>
public class ValidationSplitTests(ITestOutputHelper output)
{
    // Every sentence names its document ("dN"), so a decoded instance tells which documents its text came from.
    private static List<string> Documents(int count) =>
        [.. Enumerable.Range(0, count).Select(d => $"Opening of d{d} here. Middle words for d{d} follow now. Closing line of d{d} ends.")];

    private static PretrainingDataBuilder Builder(ToyTokenizer tok, PretrainingOptions options, double percentage) =>
        new(tok.Encode, tok.Tokens, "00ff") { Options = options, ValidationSplitPercentage = percentage, MaxDegreeOfParallelism = 2, ShardSize = 50 };

    private static (string Corpus, ToyTokenizer Tok) Corpus(TempDir tmp, int documents)
    {
        var docs = Documents(documents);
        File.WriteAllText(tmp.File("c.txt"), string.Join("\n\n", docs));
        return (tmp.File("c.txt"), new ToyTokenizer(docs));
    }

    // The documents ("dN" tokens) whose text is in the instances, masks undone.
    private static HashSet<string> DocumentsIn(IEnumerable<PretrainingInstance> instances, ToyTokenizer tok) =>
        [.. instances.SelectMany(x => x.OriginalIds()).Select(id => tok.Tokens[id]).Where(t => t.Length > 1 && t[0] == 'd' && t[1..].All(char.IsAsciiDigit))];

    [Theory]
    [InlineData(PretrainingObjective.MaskedLmNextSentence)]
    [InlineData(PretrainingObjective.MaskedLm)]
    public void Held_out_documents_are_never_in_a_training_instance_nor_the_other_way(PretrainingObjective objective)
    {
        using var tmp = TestPaths.TempDir();
        var (corpus, tok) = Corpus(tmp, 40);
        var manifest = Builder(tok, new PretrainingOptions { DupeFactor = 3, MaxSeqLength = 24, Objective = objective, Seed = 5 }, 20)
            .Build([corpus], tmp.File("data"));

        var data = PretrainingDataset.Open(tmp.File("data"));
        var validation = data.OpenValidation()!;
        var trained = DocumentsIn(data.Read(), tok);
        var held = DocumentsIn(validation.Read(), tok);
        // 20 % of 40: 8 documents, each of them in the split and none in training, random next segments included.
        Assert.Equal(8, held.Count);
        Assert.Equal(32, trained.Count);
        Assert.Empty(trained.Intersect(held));
        Assert.Equal((8L, 32L), (manifest.Validation!.Documents, manifest.Documents));
        Assert.Equal((8L, 32L), (validation.Manifest.Inputs[0].Documents, manifest.Inputs[0].Documents));
        Assert.Equal(validation.Count, manifest.Validation.Instances);
        // The same options (static masks, dupe factor) for both splits, so an evaluation sees the same kind of instances.
        Assert.Equal(manifest.Options(), validation.Manifest.Options());
        Assert.Null(validation.Manifest.Validation);
        if (objective == PretrainingObjective.MaskedLmNextSentence)
        {
            Assert.Contains(validation.Read(), x => x.IsRandomNext);
        }
    }

    [Fact]
    public void The_seed_chooses_the_documents_and_the_same_seed_gives_the_same_bytes()
    {
        using var tmp = TestPaths.TempDir();
        var (corpus, tok) = Corpus(tmp, 40);
        var options = new PretrainingOptions { DupeFactor = 2, MaxSeqLength = 24, Seed = 11 };
        Builder(tok, options, 12.5).Build([corpus], tmp.File("a"));
        Builder(tok, options, 12.5).Build([corpus], tmp.File("b"));
        Builder(tok, options with { Seed = 12 }, 12.5).Build([corpus], tmp.File("c"));

        var a = TestPaths.Snapshot(tmp.File("a"));
        Assert.Contains(Path.Combine("validation", "manifest.json"), a.Keys);
        TestPaths.AssertUnchanged(a, tmp.File("b"));
        HashSet<string> Held(string dir) => DocumentsIn(PretrainingDataset.Open(dir).OpenValidation()!.Read(), tok);
        // 12.5 % of 40 documents: 5, another 5 under another seed.
        Assert.Equal(5, Held(tmp.File("a")).Count);
        Assert.NotEqual(Held(tmp.File("a")), Held(tmp.File("c")));
    }

    [Fact]
    public void Without_the_option_the_data_is_what_it_was()
    {
        using var tmp = TestPaths.TempDir();
        var (corpus, tok) = Corpus(tmp, 20);
        var options = new PretrainingOptions { DupeFactor = 2, MaxSeqLength = 24 };
        var manifest = new PretrainingDataBuilder(tok.Encode, tok.Tokens, "00ff") { Options = options, MaxDegreeOfParallelism = 2, ShardSize = 50 }
            .Build([corpus], tmp.File("a"));
        Builder(tok, options, 0).Build([corpus], tmp.File("b"));

        Assert.Null(manifest.Validation);
        Assert.DoesNotContain("validation", File.ReadAllText(tmp.File("a/manifest.json")), StringComparison.Ordinal);
        Assert.False(Directory.Exists(tmp.File("a/validation")));
        TestPaths.AssertUnchanged(TestPaths.Snapshot(tmp.File("a")), tmp.File("b"));
        Assert.Null(PretrainingDataset.Open(tmp.File("a")).OpenValidation());
    }

    [Fact]
    public void A_rebuild_without_a_split_removes_the_old_one()
    {
        using var tmp = TestPaths.TempDir();
        var (corpus, tok) = Corpus(tmp, 20);
        var options = new PretrainingOptions { DupeFactor = 1, MaxSeqLength = 24 };
        Builder(tok, options, 10).Build([corpus], tmp.File("data"));
        Assert.True(Directory.Exists(tmp.File("data/validation")));
        Builder(tok, options, 0).Build([corpus], tmp.File("data"));
        Assert.False(Directory.Exists(tmp.File("data/validation")));
        Assert.Equal(20, PretrainingManifest.Load(tmp.File("data")).Documents);
    }

    [Theory]
    [InlineData(50.5, 20, PretrainingObjective.MaskedLm, "validation_split_percentage")]
    [InlineData(-1, 20, PretrainingObjective.MaskedLm, "expected a percentage of the documents in 0..50")]
    [InlineData(double.NaN, 20, PretrainingObjective.MaskedLm, "expected a percentage of the documents in 0..50")]
    // One document: the one held out leaves none to train on.
    [InlineData(1, 1, PretrainingObjective.MaskedLm, "the corpus has 1 document; holding out 1 leaves 0 for training, which needs at least 1;")]
    // Next-sentence prediction needs two documents in each split.
    [InlineData(50, 3, PretrainingObjective.MaskedLmNextSentence, "the corpus has 3 documents; holding out 2 leaves 1 for training, which needs at least 2 (next-sentence")]
    public void Impossible_splits_are_refused_in_one_line_and_write_nothing(double percentage, int documents, PretrainingObjective objective, string expected)
    {
        using var tmp = TestPaths.TempDir();
        var (corpus, tok) = Corpus(tmp, documents);
        var e = Assert.Throws<BertSharpException>(() =>
            Builder(tok, new PretrainingOptions { DupeFactor = 1, MaxSeqLength = 24, Objective = objective }, percentage).Build([corpus], tmp.File("data")));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
        Assert.False(Directory.Exists(tmp.File("data")));
    }

    [Fact]
    public void The_smallest_splits_that_work_are_built()
    {
        using var tmp = TestPaths.TempDir();
        var (corpus, tok) = Corpus(tmp, 2);
        // Masked LM alone: one document each side; 0.1 % of 2 rounds to 0 but holds out one.
        var m = Builder(tok, new PretrainingOptions { DupeFactor = 1, MaxSeqLength = 24, Objective = PretrainingObjective.MaskedLm }, 0.1)
            .Build([corpus], tmp.File("mlm"));
        Assert.Equal((1L, 1L), (m.Documents, m.Validation!.Documents));
        var (corpus4, tok4) = Corpus(tmp, 4);
        var n = Builder(tok4, new PretrainingOptions { DupeFactor = 1, MaxSeqLength = 24 }, 50).Build([corpus4], tmp.File("nsp"));
        Assert.Equal((2L, 2L), (n.Documents, n.Validation!.Documents));
    }

    [Fact]
    public void A_manifest_whose_split_is_not_its_own_is_refused()
    {
        using var tmp = TestPaths.TempDir();
        var (corpus, tok) = Corpus(tmp, 20);
        Builder(tok, new PretrainingOptions { DupeFactor = 1, MaxSeqLength = 24 }, 10).Build([corpus], tmp.File("data"));
        var path = tmp.File("data/manifest.json");
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"documents\": 2,", "\"documents\": 3,", StringComparison.Ordinal));
        var e = Assert.Throws<BertSharpException>(() => PretrainingDataset.Open(tmp.File("data")).OpenValidation());
        Assert.Contains("not the held-out split", e.Message, StringComparison.Ordinal);
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"directory\": \"validation\"", "\"directory\": \"../x\"", StringComparison.Ordinal));
        e = Assert.Throws<BertSharpException>(() => PretrainingManifest.Load(tmp.File("data")));
        Assert.Contains("field 'validation'", e.Message, StringComparison.Ordinal);
        // A percentage pretrain-data cannot have written (it takes 0..50 and writes no split for 0).
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"directory\": \"../x\"", "\"directory\": \"validation\"", StringComparison.Ordinal));
        foreach (var bad in new[] { "0", "-5", "75" })
        {
            File.WriteAllText(path, Regex.Replace(File.ReadAllText(path), "\"percentage\": [-0-9.]+", $"\"percentage\": {bad}"));
            e = Assert.Throws<BertSharpException>(() => PretrainingManifest.Load(tmp.File("data")));
            Assert.Contains("with a percentage in (0, 50]", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_split_built_with_other_options_is_refused_even_with_the_same_counts()
    {
        using var tmp = TestPaths.TempDir();
        var (corpus, tok) = Corpus(tmp, 20);
        Builder(tok, new PretrainingOptions { DupeFactor = 1, MaxSeqLength = 24 }, 10).Build([corpus], tmp.File("data"));
        var path = tmp.File("data/validation/manifest.json");
        // What another build's split says, with the same counts: the same instances' masks at another rate.
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"masked_lm_prob\": 0.15,", "\"masked_lm_prob\": 0.3,", StringComparison.Ordinal));
        Assert.Equal(0.3, PretrainingManifest.Load(tmp.File("data/validation")).MaskedLmProb);
        var e = Assert.Throws<BertSharpException>(() => PretrainingDataset.Open(tmp.File("data")).OpenValidation());
        Assert.Contains("validation/manifest.json: not the held-out split of ", e.Message.Replace('\\', '/'), StringComparison.Ordinal);
        Assert.Contains("built with other options", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_command_writes_the_split_and_refuses_an_impossible_one_by_its_option()
    {
        using var tmp = TestPaths.TempDir();
        var vocab = PretrainDataCommandTests.UncasedVocab(tmp);
        File.WriteAllText(tmp.File("c.txt"), string.Join("\n\n", Documents(10)));
        var r = CliRunner.Run("pretrain-data", "--input", tmp.File("c.txt"), "--vocab", vocab, "--output", tmp.File("data"),
            "--max-length", "32", "--dupe-factor", "1", "--validation-split-percentage", "20");
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains("c.txt: lines, 8 documents", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("held out 2 documents (20 %), ", r.StdOut, StringComparison.Ordinal);
        Assert.Equal(2, PretrainingManifest.Load(tmp.File("data/validation")).Documents);

        var refused = CliRunner.Run("pretrain-data", "--input", tmp.File("c.txt"), "--vocab", vocab, "--output", tmp.File("other"),
            "--validation-split-percentage", "51");
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("--validation-split-percentage 51: expected a percentage of the documents in 0..50.", refused.StdErr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(tmp.File("other")));
    }

    [Fact]
    public void The_progress_and_the_stats_name_each_split()
    {
        using var tmp = TestPaths.TempDir();
        var vocab = PretrainDataCommandTests.UncasedVocab(tmp);
        File.WriteAllText(tmp.File("c.txt"), string.Join("\n\n", Documents(10)));
        var r = CliRunner.Run("pretrain-data", "--input", tmp.File("c.txt"), "--vocab", vocab, "--output", tmp.File("data"),
            "--max-length", "32", "--dupe-factor", "2", "--validation-split-percentage", "20");
        Assert.True(r.ExitCode == 0, r.StdErr);
        // One phase per split: under one name the second split's progress was left out of a log (and restarted the
        // first's bar on a terminal). One file, two dupe passes: 2 units of instances per split; one shard each.
        foreach (var line in new[] { "instances (training): 2/2", "instances (validation): 2/2", "write (training): 1/1", "write (validation): 1/1" })
        {
            Assert.Contains("\n" + line + "\n", "\n" + r.StdErr.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        }
        Assert.DoesNotContain("\ninstances: ", "\n" + r.StdErr, StringComparison.Ordinal);

        var stats = CliRunner.Run("pretrain-data", "--stats", tmp.File("data"));
        Assert.True(stats.ExitCode == 0, stats.StdErr);
        var training = PretrainingDataset.Open(tmp.File("data"));
        var validation = training.OpenValidation()!;
        var (t, v) = (training.Manifest, validation.Manifest);
        var expected = $"training split: 8 documents, {t.Instances:N0} instances, {t.Tokens:N0} tokens in {tmp.File("data")}\n"
            + PretrainingDataStats.Compute(training).Format()
            + $"validation split (20 % of the documents held out): 2 documents, {v.Instances:N0} instances, {v.Tokens:N0} tokens in {tmp.File("data/validation")}\n"
            + PretrainingDataStats.Compute(validation).Format();
        Assert.Equal(expected.ReplaceLineEndings("\n"), stats.StdOut.ReplaceLineEndings("\n"));
        Assert.Contains("stats (validation): 1/1", stats.StdErr, StringComparison.Ordinal);
    }

    /// <summary>
    /// The 16-word-piece spans an evaluation shares with training, on the first 1,000 reviews of the shared IMDb corpus with
    /// bert-base-uncased: the last min(512, 10 %) instances held out (what <c>pretrain --eval-every</c> does on data without
    /// a split) against 5 % of the documents held out (the numbers are in docs/pretraining.md).
    /// </summary>
    [Trait(SlowFirstOrderer.Category, SlowFirstOrderer.Slow)]
    [SkippableFact]
    public void Held_out_documents_share_almost_no_text_with_training_where_held_out_instances_share_most()
    {
        var source = TestPaths.RequireShared("data", "corpus", "imdb_unsup_reviews.txt.gz");
        using var tmp = TestPaths.TempDir();
        var vocab = PretrainDataCommandTests.UncasedVocab(tmp);
        using (var reader = new StreamReader(new GZipStream(File.OpenRead(source), CompressionMode.Decompress)))
        {
            File.WriteAllLines(tmp.File("slice.txt"), Enumerable.Range(0, 1000).Select(_ => reader.ReadLine()!));
        }
        var tokenizer = BertTokenizer.FromVocabFile(vocab, lowercase: true);
        var noSpecials = new EncodeOptions { AddSpecialTokens = false, Truncation = TruncationStrategy.None };
        PretrainingDataBuilder Build(double percentage) => new(t => tokenizer.EncodeIds(t, null, noSpecials), tokenizer.Vocab.Tokens, "00ff")
        {
            Options = new PretrainingOptions { DupeFactor = 1, Seed = 1 },
            Format = CorpusFormat.DocumentPerLine,
            ValidationSplitPercentage = percentage,
        };
        Build(0).Build([tmp.File("slice.txt")], tmp.File("whole"));
        Build(5).Build([tmp.File("slice.txt")], tmp.File("split"));

        var whole = PretrainingDataset.Open(tmp.File("whole")).Read().ToList();
        var heldOut = (int)Math.Min(512, whole.Count / 10);
        var instanceShare = SharedSpanShare(whole[^heldOut..], whole[..^heldOut]);
        var split = PretrainingDataset.Open(tmp.File("split"));
        var documentShare = SharedSpanShare([.. split.OpenValidation()!.Read()], [.. split.Read()]);
        output.WriteLine($"held-out instances: {instanceShare:P1} of {heldOut}; held-out documents: {documentShare:P1} of {split.Manifest.Validation!.Instances}");
        Assert.InRange(instanceShare, 0.5, 1);
        // Reviews quote one another's stock phrases now and then, never a whole sentence pair's worth of text.
        Assert.InRange(documentShare, 0, 0.05);
    }

    private static double SharedSpanShare(IReadOnlyList<PretrainingInstance> evaluated, IReadOnlyList<PretrainingInstance> trained)
    {
        const int span = 16;
        static IEnumerable<string> Spans(PretrainingInstance x)
        {
            var ids = x.OriginalIds();
            for (var i = 0; i + span <= ids.Length; i++)
            {
                yield return string.Join(',', ids.Skip(i).Take(span));
            }
        }
        var seen = trained.SelectMany(Spans).ToHashSet(StringComparer.Ordinal);
        return evaluated.Count(x => Spans(x).Any(seen.Contains)) / (double)evaluated.Count;
    }
}
