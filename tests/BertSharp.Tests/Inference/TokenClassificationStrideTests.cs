using BertSharp.Inference;
using BertSharp.Tests.Modeling;

namespace BertSharp.Tests.Inference;

/// <summary>
/// <c>stride</c> as HF's token-classification pipeline takes it: a text longer than the model is tagged in overlapping
/// windows and the entities of all windows merged by <c>aggregate_overlapping_entities</c>.
/// </summary>
public sealed class TokenClassificationStrideTests
{
    private const string Case = "token-classification";

    // 98 word pieces, one per word or mark (every word of this fixture sentence is a single piece in the fixture's
    // vocabulary), so any run of pieces cut out of the text tokenizes to the same pieces on its own: the fixture model has
    // 64 positions.
    private static readonly string LongText = string.Join(' ', Enumerable.Repeat("I said that never in my life had I seen a place like Bangor.", 6))
        + " Us love they. I said that.";

    private static int[] Lengths(TokenClassification pipe, string text) =>
        [.. pipe.Tokenizer.Encode(text).Utf16Offsets.Skip(1).SkipLast(1).Select(o => o.End - o.Start)];

    /// <summary>
    /// The reference: HF's windows worked out by hand (room = max length − 2 pieces, each window starting room − stride
    /// pieces after the one before, the last ending at the text's end), each window's text run alone through the pipeline
    /// without stride, its spans moved to where the window starts, and the overlaps merged.
    /// </summary>
    private static List<TokenEntity> ByHand(TokenClassification pipe, string text, int maxLength, int stride, AggregationStrategy aggregation)
    {
        var pieces = pipe.Tokenizer.Encode(text).Utf16Offsets.Skip(1).SkipLast(1).ToArray();
        var room = maxLength - 2;
        var all = new List<TokenEntity>();
        for (var start = 0; ; start += room - stride)
        {
            var end = Math.Min(start + room, pieces.Length);
            var from = pieces[start].Start;
            var window = text[from..pieces[end - 1].End];
            all.AddRange(pipe.Predict([window], aggregation, maxLength: maxLength)[0].Select(e => e with { Start = e.Start + from, End = e.End + from }));
            if (end == pieces.Length)
            {
                break;
            }
        }
        return TokenAggregation.AggregateOverlapping(all);
    }

    [Theory]
    [InlineData(64, 10, AggregationStrategy.Simple)]
    [InlineData(16, 4, AggregationStrategy.Simple)]
    [InlineData(16, 0, AggregationStrategy.First)]
    [InlineData(20, 17, AggregationStrategy.Max)]
    public void A_long_text_is_tagged_window_by_window_and_the_overlaps_merged(int maxLength, int stride, AggregationStrategy aggregation)
    {
        using var pipe = TokenClassification.Load(HfFixture.Dir(Case), "cpu");
        Assert.Equal(98, Lengths(pipe, LongText).Length);
        Assert.All(Lengths(pipe, LongText), l => Assert.True(l > 0));
        var expected = ByHand(pipe, LongText, maxLength, stride, aggregation);
        var got = pipe.Predict([LongText], aggregation, maxLength: maxLength, stride: stride)[0];
        Assert.Equal(expected.Select(e => (e.Entity, e.Word, e.Start, e.End)), got.Select(e => (e.Entity, e.Word, e.Start, e.End)));
        Assert.All(expected.Zip(got), p => Assert.Equal(p.First.Score, p.Second.Score, 5));
        // Spans in the whole text, in order, none repeated or overlapping, reaching past what one window holds.
        Assert.All(got.Zip(got.Skip(1)), p => Assert.True(p.First.End <= p.Second.Start, $"{p.First} overlaps {p.Second}"));
        Assert.All(got, e => Assert.Equal(e.Word, LongText[e.Start..e.End].ToLowerInvariant()));
        Assert.Equal(LongText.Length, got[^1].End);
    }

    // Without stride the text is cut as before (HF without stride): only its first window's pieces are tagged.
    [Fact]
    public void Without_stride_a_long_text_is_still_truncated_to_its_first_window()
    {
        using var pipe = TokenClassification.Load(HfFixture.Dir(Case), "cpu");
        var pieces = pipe.Tokenizer.Encode(LongText).Utf16Offsets;
        var first = LongText[..pieces[62].End];
        var expected = pipe.Predict([first])[0];
        var got = pipe.Predict([LongText])[0];
        Assert.Equal(expected, got);
        Assert.Equal(first.Length, got[^1].End);
        // A text that fits one window gives the same entities with a stride as without one.
        const string shortText = "I said that never in my life had I seen a place like Bangor.";
        Assert.Equal(pipe.Predict([shortText])[0], pipe.Predict([shortText], stride: 5)[0]);
    }

    [Theory]
    [InlineData(null, 62, AggregationStrategy.Simple, "stride 62 must be smaller than the 62 tokens a 64-token window leaves for text (max_length minus [CLS] and [SEP]).")]
    [InlineData(16, 14, AggregationStrategy.First, "stride 14 must be smaller than the 14 tokens a 16-token window leaves for text (max_length minus [CLS] and [SEP]).")]
    [InlineData(null, -1, AggregationStrategy.Simple, "stride -1: expected a number ≥ 0.")]
    [InlineData(null, 8, AggregationStrategy.None, "stride 8 cannot be used with aggregation none (HF's pipeline refuses it too); choose simple, first, average or max.")]
    public void Strides_HF_refuses_are_refused_in_one_line(int? maxLength, int stride, AggregationStrategy aggregation, string message)
    {
        using var pipe = TokenClassification.Load(HfFixture.Dir(Case), "cpu");
        // Refused whatever the text's length, as HF's pipeline checks the stride before it tokenizes.
        foreach (var text in new[] { LongText, "I said that." })
        {
            Assert.Equal(message, Assert.Throws<BertSharpException>(() => pipe.Predict([text], aggregation, maxLength: maxLength, stride: stride)).Message);
        }
    }

    // HF's aggregate_overlapping_entities, worked by hand: in start order, an entity starting inside the kept one replaces it
    // when longer (b over a), or as long and more confident (e over d); a shorter one is dropped (c).
    [Fact]
    public void Overlapping_entities_keep_the_longest_then_the_most_confident()
    {
        TokenEntity a = new("PER", 0.5, "ann", 0, 5), b = new("PER", 0.4, "ann lee", 0, 8), c = new("LOC", 0.9, "lee", 3, 8),
            d = new("LOC", 0.6, "paris", 10, 12), e = new("LOC", 0.7, "paris", 10, 12), f = new("ORG", 0.3, "un", 13, 15);
        Assert.Equal([b, e, f], TokenAggregation.AggregateOverlapping([f, c, a, b, e, d]));
        Assert.Equal([d, f], TokenAggregation.AggregateOverlapping([d, f, d]));
        Assert.Empty(TokenAggregation.AggregateOverlapping([]));
    }
}
