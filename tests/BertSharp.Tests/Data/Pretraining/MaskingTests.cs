using BertSharp.Data.Pretraining;

namespace BertSharp.Tests.Data.Pretraining;

public class MaskingTests
{
    // ids: 0 [PAD] 1 [UNK] 2 [CLS] 3 [SEP] 4 [MASK]; 5..104 words; 105..204 "##" pieces.
    private static readonly MaskingVocabulary Vocab = new(
        ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", .. Enumerable.Range(0, 100).Select(i => "w" + i), .. Enumerable.Range(0, 100).Select(i => "##p" + i)]);

    private static int[] Sequence(int length)
    {
        var t = new int[length];
        t[0] = 2;
        for (var i = 1; i < length; i++)
        {
            t[i] = 5 + (i % 100);
        }
        t[length / 2] = 3;
        t[^1] = 3;
        return t;
    }

    [Theory]
    [InlineData(128, 19)] // round(19.2)
    [InlineData(130, 20)] // round(19.5) = 20 (ties to even), at the cap
    [InlineData(250, 20)] // capped by max predictions
    [InlineData(10, 2)]   // round(1.5) = 2
    [InlineData(5, 1)]    // round(0.75) = 1
    [InlineData(3, 1)]    // round(0.45) = 0 → at least 1
    public void Predictions_follow_googles_count_rule(int length, int expected)
    {
        var masker = new MaskedLmMasker(Vocab, 0.15, 20, wholeWordMask: false);
        Assert.Equal(expected, masker.NumToPredict(length));
        var (_, positions, _) = masker.Mask(Sequence(Math.Max(length, 4)), new PretrainingRng(1));
        if (length >= 4)
        {
            Assert.Equal(expected, positions.Length);
        }
    }

    [Fact]
    public void Masks_never_touch_specials_labels_are_originals_positions_sorted()
    {
        var masker = new MaskedLmMasker(Vocab, 0.15, 20, false);
        var rng = new PretrainingRng(7);
        for (var trial = 0; trial < 200; trial++)
        {
            var tokens = Sequence(20 + trial % 100);
            var (output, positions, labels) = masker.Mask(tokens, rng);
            Assert.Equal(positions.Order(), positions);
            Assert.Equal(positions.Length, positions.Distinct().Count());
            for (var i = 0; i < tokens.Length; i++)
            {
                var k = Array.IndexOf(positions, i);
                if (k < 0)
                {
                    Assert.Equal(tokens[i], output[i]);
                }
                else
                {
                    Assert.NotEqual(2, tokens[i]);
                    Assert.NotEqual(3, tokens[i]);
                    Assert.Equal(tokens[i], labels[k]);
                }
            }
        }
    }

    [Fact]
    public void Replacements_are_80_percent_mask_10_random_10_unchanged()
    {
        var masker = new MaskedLmMasker(Vocab, 0.15, 20, false);
        var rng = new PretrainingRng(11);
        long mask = 0, same = 0, other = 0;
        for (var trial = 0; trial < 5000; trial++)
        {
            var tokens = Sequence(128);
            var (output, positions, _) = masker.Mask(tokens, rng);
            foreach (var p in positions)
            {
                if (output[p] == 4)
                {
                    mask++;
                }
                else if (output[p] == tokens[p])
                {
                    same++;
                }
                else
                {
                    other++;
                }
            }
        }
        double total = mask + same + other;
        Assert.InRange(mask / total, 0.79, 0.81);
        Assert.InRange(other / total, 0.09, 0.11);
        Assert.InRange(same / total, 0.09, 0.11);
    }

    [Fact]
    public void Whole_word_masking_masks_all_pieces_of_a_word_together()
    {
        // [CLS] w1 ##p1 ##p2 w2 w3 ##p3 [SEP] w4 ##p4 ##p5 ##p6 w5 ... [SEP]
        var tokens = new List<int> { 2 };
        for (var w = 0; w < 30; w++)
        {
            tokens.Add(5 + w);
            for (var p = 0; p < w % 4; p++)
            {
                tokens.Add(105 + p);
            }
            if (w == 14)
            {
                tokens.Add(3);
            }
        }
        tokens.Add(3);
        var arr = tokens.ToArray();
        var masker = new MaskedLmMasker(Vocab, 0.15, 20, wholeWordMask: true);
        var rng = new PretrainingRng(3);
        for (var trial = 0; trial < 100; trial++)
        {
            var (_, positions, _) = masker.Mask(arr, rng);
            Assert.InRange(positions.Length, 1, masker.NumToPredict(arr.Length));
            var set = positions.ToHashSet();
            for (var i = 1; i < arr.Length; i++)
            {
                if (Vocab.IsContinuation[arr[i]])
                {
                    // a piece is masked exactly when the piece before it (same word) is
                    Assert.Equal(set.Contains(i - 1), set.Contains(i));
                }
            }
        }
    }

    [Fact]
    public void Remask_restores_originals_and_draws_fresh_masks()
    {
        var masker = new MaskedLmMasker(Vocab, 0.15, 20, false);
        var tokens = Sequence(64);
        var (output, positions, labels) = masker.Mask(tokens, new PretrainingRng(5));
        var stored = new PretrainingInstance(output, 32, true, positions, labels);
        Assert.Equal(tokens, stored.OriginalIds());
        var again = masker.Remask(stored, new PretrainingRng(99));
        Assert.Equal(tokens, again.OriginalIds());
        Assert.NotEqual(positions, again.MaskedPositions);
        Assert.True(again.IsRandomNext);
        Assert.Equal(32, again.SegmentALength);
        var same = masker.Remask(stored, new PretrainingRng(99));
        Assert.True(same.ContentEquals(again));
    }
}
