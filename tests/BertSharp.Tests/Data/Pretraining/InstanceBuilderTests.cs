using BertSharp.Data.Pretraining;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Data.Pretraining;

public class InstanceBuilderTests
{
    private static readonly MaskingVocabulary Vocab = new(
        ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", .. Enumerable.Range(5, 2000).Select(i => "t" + i)]);

    // Document d, sentence s holds ids 1000·(d+1) + 10·s + k (k < 4): every token tells where it came from.
    private static int[][] Doc(int d, int sentences, int tokensPerSentence = 4) =>
        Enumerable.Range(0, sentences).Select(s => Enumerable.Range(0, tokensPerSentence).Select(k => (1000 * (d + 1)) + (10 * s) + k).ToArray()).ToArray();

    private static (int[] A, int[] B) Segments(PretrainingInstance x)
    {
        var ids = x.OriginalIds();
        Assert.Equal(2, ids[0]);
        Assert.Equal(3, ids[x.SegmentALength - 1]);
        Assert.Equal(3, ids[^1]);
        return (ids[1..(x.SegmentALength - 1)], ids[x.SegmentALength..^1]);
    }

    [Fact]
    public void Truncation_drops_from_the_longer_side_front_or_back()
    {
        var rng = new PretrainingRng(1);
        for (var trial = 0; trial < 50; trial++)
        {
            var a = Enumerable.Range(0, 10).ToList();
            var b = Enumerable.Range(100, 3).ToList();
            InstanceBuilder.TruncateSeqPair(a, b, 8, rng);
            Assert.Equal(5, a.Count);
            Assert.Equal([100, 101, 102], b);
            Assert.Equal(Enumerable.Range(a[0], 5), a); // a contiguous window: only the ends were cut
        }
        var fronts = 0;
        for (var trial = 0; trial < 400; trial++)
        {
            var a = new List<int> { 1, 2, 3 };
            var b = new List<int> { 4, 5, 6 };
            InstanceBuilder.TruncateSeqPair(a, b, 5, rng);
            Assert.Equal([1, 2, 3], a); // on a tie google cuts B
            fronts += b[0] == 5 ? 1 : 0;
        }
        Assert.InRange(fronts, 160, 240);
    }

    [Fact]
    public void Truncation_makes_googles_draws_and_is_linear_in_the_pair_length()
    {
        // google's truncate_seq_pair, one token at a time: what the counted version must reproduce draw for draw.
        static void Google(List<int> a, List<int> b, int max, PretrainingRng rng)
        {
            while (a.Count + b.Count > max)
            {
                var trunc = a.Count > b.Count ? a : b;
                if (rng.NextDouble() < 0.5)
                {
                    trunc.RemoveAt(0);
                }
                else
                {
                    trunc.RemoveAt(trunc.Count - 1);
                }
            }
        }
        var sizes = new PretrainingRng(9);
        for (var trial = 0; trial < 300; trial++)
        {
            var (na, nb, max) = (sizes.RandInt(1, 60), sizes.RandInt(1, 60), sizes.RandInt(2, 80));
            var (a1, b1) = (Enumerable.Range(0, na).ToList(), Enumerable.Range(100, nb).ToList());
            var (a2, b2) = (a1.ToList(), b1.ToList());
            var (r1, r2) = (new PretrainingRng((ulong)trial), new PretrainingRng((ulong)trial));
            InstanceBuilder.TruncateSeqPair(a1, b1, max, r1);
            Google(a2, b2, max, r2);
            Assert.Equal(a2, a1);
            Assert.Equal(b2, b1);
            Assert.Equal(r2.NextDouble(), r1.NextDouble()); // as many draws
        }
        // A sentence of 400,000 pieces (a long line without a sentence end) against a short B: one token at a time from the
        // front of a list, this took seconds, and minutes for the few million pieces a 16 MiB line can hold. The thread's CPU
        // time, not the wall clock: a thread kept off the cores of a loaded machine (or stopped by a collection) is not slower code.
        var big = Enumerable.Range(0, 400_000).ToList();
        var cpu = ThreadCpuTime.Of(() => InstanceBuilder.TruncateSeqPair(big, [1, 2, 3], 125, new PretrainingRng(7)));
        Assert.True(cpu < TimeSpan.FromSeconds(1), $"{cpu.TotalSeconds:F2} CPU-seconds");
        Assert.Equal(122, big.Count);
        Assert.Equal(Enumerable.Range(big[0], 122), big);
    }

    [Fact]
    public void Actual_next_pairs_are_consecutive_sentences_and_unused_segments_are_put_back()
    {
        // max_seq_length 11 → 8 tokens for A+B: two 4-token sentences per chunk, no truncation ever needed.
        var options = new PretrainingOptions { MaxSeqLength = 11, ShortSeqProb = 0, DupeFactor = 1 };
        var builder = new InstanceBuilder(options, Vocab);
        var docs = new[] { Doc(0, 9), Doc(1, 5), Doc(2, 1) };
        var rng = new PretrainingRng(42);
        for (var trial = 0; trial < 30; trial++)
        {
            var list = new List<PretrainingInstance>();
            builder.CreateFromDocument(docs, 0, rng, list);
            var used = new List<int>();
            foreach (var x in list)
            {
                var (a, b) = Segments(x);
                Assert.True(x.Length <= 11);
                Assert.All(a, t => Assert.Equal(1, t / 1000));
                used.AddRange(a);
                if (x.IsRandomNext)
                {
                    Assert.All(b, t => Assert.NotEqual(1, t / 1000)); // B from another document
                }
                else
                {
                    // B continues right after A: the next sentence, or (balanced NSP, one-sentence chunk) the rest of A's sentence
                    Assert.True(b[0] == a[^1] + 7 || b[0] == a[^1] + 1, $"{a[^1]} -> {b[0]}");
                    used.AddRange(b);
                }
            }
            // Every sentence of the document is used exactly once, in order: random-next chunks put theirs back.
            Assert.Equal(docs[0].SelectMany(s => s), used);
        }
    }

    [Fact]
    public void Google_mode_gives_a_one_sentence_document_always_a_random_next()
    {
        var options = new PretrainingOptions { MaxSeqLength = 32, ShortSeqProb = 0, BalancedNsp = false };
        var builder = new InstanceBuilder(options, Vocab);
        var docs = new[] { Doc(0, 3), Doc(1, 1) };
        var list = new List<PretrainingInstance>();
        var rng = new PretrainingRng(3);
        for (var trial = 0; trial < 20; trial++)
        {
            builder.CreateFromDocument(docs, 1, rng, list);
        }
        Assert.Equal(20, list.Count);
        Assert.All(list, x =>
        {
            Assert.True(x.IsRandomNext);
            var (a, b) = Segments(x);
            Assert.Equal(docs[1][0], a);
            Assert.All(b, t => Assert.Equal(1, t / 1000));
        });
    }

    [Fact]
    public void Balanced_mode_splits_a_one_sentence_chunk_at_a_word_start_half_of_the_time()
    {
        var vocab = new MaskingVocabulary(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "w", "##x"]);
        var options = new PretrainingOptions { MaxSeqLength = 32, ShortSeqProb = 0 };
        var builder = new InstanceBuilder(options, vocab);
        int[] sentence = [5, 6, 6, 5, 6, 5, 5];
        var docs = new[] { new[] { sentence }, new[] { new[] { 5, 5 } } };
        var list = new List<PretrainingInstance>();
        var rng = new PretrainingRng(3);
        for (var trial = 0; trial < 400; trial++)
        {
            builder.CreateFromDocument(docs, 0, rng, list);
        }
        var next = list.Where(x => !x.IsRandomNext).ToList();
        Assert.InRange(next.Count, 160, 240);
        Assert.All(next, x =>
        {
            var (a, b) = Segments(x);
            Assert.Equal(sentence, a.Concat(b));
            Assert.Equal(5, b[0]); // never splits inside a word
        });
        Assert.All(list.Where(x => x.IsRandomNext), x => Assert.Equal(sentence, Segments(x).A));
    }

    [Fact]
    public void Long_sentences_are_truncated_to_max_seq_length_and_nsp_is_balanced()
    {
        var options = new PretrainingOptions { MaxSeqLength = 24, ShortSeqProb = 0.1 };
        var builder = new InstanceBuilder(options, Vocab);
        var docs = Enumerable.Range(0, 40).Select(d => Doc(d % 9, 12, 3 + (d % 11))).ToArray();
        var rng = new PretrainingRng(9);
        var list = new List<PretrainingInstance>();
        for (var d = 0; d < docs.Length; d++)
        {
            for (var dupe = 0; dupe < 25; dupe++)
            {
                builder.CreateFromDocument(docs, d, rng, list);
            }
        }
        Assert.All(list, x =>
        {
            Assert.InRange(x.Length, 5, 24);
            var (a, b) = Segments(x);
            Assert.NotEmpty(a);
            Assert.NotEmpty(b);
        });
        var share = list.Count(x => x.IsRandomNext) / (double)list.Count;
        Assert.InRange(share, 0.46, 0.54);
    }
}
