using BertSharp.Data;
using BertSharp.Tokenization;

namespace BertSharp.Tests.Tokenization;

/// <summary>
/// Head, tail and head+tail truncation (Sun et al. 2019, "How to Fine-Tune BERT for Text Classification": the first 128 and the
/// last 382 word pieces of 512) on bert-base-uncased, against token selections worked out by hand: every word of the texts
/// below is one word piece, so word i is token i and its offsets are the word's character span.
/// </summary>
public class TruncationSideTests
{
    private const string Twelve = "one two three four five six seven eight nine ten eleven twelve";

    private static BertTokenizer Tok => TokenizationFixtures.Uncased;

    private static BertEncoding Cut(string text, string? pair, int maxLength, TruncationSide side, int? head = null) =>
        Tok.Encode(text, pair, new EncodeOptions { MaxLength = maxLength, TruncationSide = side, HeadTokens = head });

    [Fact]
    public void Head_keeps_the_start_tail_the_end_of_a_text_cut_to_six_word_pieces()
    {
        Assert.Equal(["[CLS]", "one", "two", "three", "four", "five", "six", "[SEP]"], Cut(Twelve, null, 8, TruncationSide.Head).Tokens);
        var tail = Cut(Twelve, null, 8, TruncationSide.Tail);
        Assert.Equal(["[CLS]", "seven", "eight", "nine", "ten", "eleven", "twelve", "[SEP]"], tail.Tokens);
        Assert.Equal([-1, 6, 7, 8, 9, 10, 11, -1], tail.WordIds);
        Assert.Equal([(0, 0), (28, 33), (34, 39), (40, 44), (45, 48), (49, 55), (56, 62), (0, 0)], tail.Offsets);
        Assert.Equal([0, 0, 0, 0, 0, 0, 0, 0], tail.TypeIds);
        Assert.Equal([1, 0, 0, 0, 0, 0, 0, 1], tail.SpecialTokensMask);
    }

    [Fact]
    public void Head_and_tail_keeps_the_default_share_of_the_start_and_the_rest_from_the_end()
    {
        // Six word pieces kept: round(6 · 128 / 510) = 2 from the start, 4 from the end.
        var e = Cut(Twelve, null, 8, TruncationSide.HeadAndTail);
        Assert.Equal(["[CLS]", "one", "two", "nine", "ten", "eleven", "twelve", "[SEP]"], e.Tokens);
        Assert.Equal([-1, 0, 1, 8, 9, 10, 11, -1], e.WordIds);
        Assert.Equal([(0, 0), (0, 3), (4, 7), (40, 44), (45, 48), (49, 55), (56, 62), (0, 0)], e.Offsets);
        Assert.Equal(Tok.Encode("one two nine ten eleven twelve").Ids, e.Ids);

        Assert.Equal(["[CLS]", "one", "two", "three", "ten", "eleven", "twelve", "[SEP]"], Cut(Twelve, null, 8, TruncationSide.HeadAndTail, head: 3).Tokens);
        Assert.Equal(["[CLS]", "seven", "eight", "nine", "ten", "eleven", "twelve", "[SEP]"], Cut(Twelve, null, 8, TruncationSide.HeadAndTail, head: 0).Tokens);
        // A head longer than what is kept is all head.
        Assert.Equal(Cut(Twelve, null, 8, TruncationSide.Head).Ids, Cut(Twelve, null, 8, TruncationSide.HeadAndTail, head: 10).Ids);
    }

    [Fact]
    public void Sun_et_al_split_at_512_keeps_words_0_to_127_and_618_to_999_of_a_thousand()
    {
        var text = string.Join(' ', Enumerable.Repeat("the", 1000));
        var e = Cut(text, null, 512, TruncationSide.HeadAndTail);
        Assert.Equal(512, e.Length);
        Assert.Equal([-1, .. Enumerable.Range(0, 128), .. Enumerable.Range(618, 382), -1], e.WordIds);
        Assert.Equal((618 * 4, 618 * 4 + 3), e.Offsets[129]);
        var at256 = Cut(text, null, 256, TruncationSide.HeadAndTail);
        Assert.Equal([-1, .. Enumerable.Range(0, 64), .. Enumerable.Range(810, 190), -1], at256.WordIds);
    }

    [Fact]
    public void A_pair_is_cut_longest_first_and_the_cut_text_keeps_its_side()
    {
        // max 11 leaves 8 for the texts: longest_first gives A (8 pieces) 4 and B (4 pieces) 4 (HF's truncate_encodings).
        const string a = "one two three four five six seven eight";
        const string b = "it was very happy";
        var tail = Cut(a, b, 11, TruncationSide.Tail);
        Assert.Equal(["[CLS]", "five", "six", "seven", "eight", "[SEP]", "it", "was", "very", "happy", "[SEP]"], tail.Tokens);
        Assert.Equal([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1], tail.TypeIds);
        // round(4 · 128 / 510) = 1 from the start of A, 3 from its end.
        Assert.Equal(["[CLS]", "one", "six", "seven", "eight", "[SEP]", "it", "was", "very", "happy", "[SEP]"], Cut(a, b, 11, TruncationSide.HeadAndTail).Tokens);
        // Both cut when both are long: max 9 leaves 3 + 3.
        Assert.Equal(["[CLS]", "six", "seven", "eight", "[SEP]", "was", "very", "happy", "[SEP]"], Cut(a, b, 9, TruncationSide.Tail).Tokens);
        Assert.Equal((3, 6), Cut(a, b, 9, TruncationSide.Tail).Offsets[5]);
    }

    [Fact]
    public void A_text_that_fits_is_the_same_whatever_the_side_and_padding_still_applies()
    {
        foreach (var side in new[] { TruncationSide.Head, TruncationSide.Tail, TruncationSide.HeadAndTail })
        {
            Assert.Equal(Tok.Encode(Twelve).Ids, Cut(Twelve, null, 14, side).Ids);
        }
        var padded = Tok.Encode(Twelve, null, new EncodeOptions { MaxLength = 8, TruncationSide = TruncationSide.Tail, Padding = PaddingStrategy.MaxLength });
        Assert.Equal(Cut(Twelve, null, 8, TruncationSide.Tail).Ids, padded.Ids);
        var wider = Tok.Encode("one two", null, new EncodeOptions { MaxLength = 6, TruncationSide = TruncationSide.Tail, Padding = PaddingStrategy.MaxLength });
        Assert.Equal([101, 2028, 2048, 102, 0, 0], wider.Ids);
        Assert.Equal(Cut(Twelve, null, 8, TruncationSide.HeadAndTail).Ids,
            Tok.EncodeIds(Twelve, null, new EncodeOptions { MaxLength = 8, TruncationSide = TruncationSide.HeadAndTail }));
    }

    [Fact]
    public void Head_and_tail_has_no_overflowing_windows_and_negative_head_tokens_are_refused()
    {
        var e = Assert.Throws<BertSharpException>(() => Tok.Encode(Twelve, null,
            new EncodeOptions { MaxLength = 8, TruncationSide = TruncationSide.HeadAndTail, ReturnOverflowing = true, Stride = 1 }));
        Assert.Equal("overflowing windows (stride) cannot be combined with head+tail truncation.", e.Message);
        Assert.Throws<BertSharpException>(() => Cut(Twelve, null, 8, TruncationSide.HeadAndTail, head: -1));
    }

    [Fact]
    public void Head_tokens_only_matter_for_head_and_tail()
    {
        Assert.Equal(Cut(Twelve, null, 8, TruncationSide.Tail).Ids, Cut(Twelve, null, 8, TruncationSide.Tail, head: 3).Ids);
        Assert.Equal(Cut(Twelve, null, 8, TruncationSide.Head).Ids, Cut(Twelve, null, 8, TruncationSide.Head, head: 3).Ids);
    }

    [Theory]
    [InlineData(510, 128)]
    [InlineData(254, 64)]
    [InlineData(126, 32)]
    [InlineData(6, 2)]
    [InlineData(0, 0)]
    public void Default_head_is_sun_et_al_share(int keep, int head) => Assert.Equal(head, TruncationSides.DefaultHeadTokens(keep));

    [Theory]
    [InlineData("head", TruncationSide.Head)]
    [InlineData("right", TruncationSide.Head)]
    [InlineData("tail", TruncationSide.Tail)]
    [InlineData("left", TruncationSide.Tail)]
    [InlineData("head+tail", TruncationSide.HeadAndTail)]
    [InlineData(" Head+Tail ", TruncationSide.HeadAndTail)]
    public void Names_parse_and_round_trip(string name, TruncationSide side)
    {
        Assert.Equal(side, TruncationSides.Parse(name));
        Assert.Equal(side, TruncationSides.Parse(TruncationSides.Name(side)));
    }

    [Fact]
    public void An_unknown_name_is_one_line_naming_the_option()
    {
        var e = Assert.Throws<BertSharpException>(() => TruncationSides.Parse("middle"));
        Assert.Equal("truncation_side 'middle': expected head, tail or head+tail.", e.Message);
        Assert.Equal(["truncation_side"], e.Fields);
    }

    [Fact]
    public void Example_encoder_cuts_every_example_the_same_way()
    {
        TextExample[] examples = [new(Twelve, null, "1", 2), new("one two", null, "0", 3)];
        var encoded = ExampleEncoder.Encode(Tok, examples, [1f, 0f], 8, TruncationSide.HeadAndTail, headTokens: 3);
        Assert.Equal(Cut(Twelve, null, 8, TruncationSide.HeadAndTail, head: 3).Ids, encoded[0].InputIds);
        Assert.Equal([101, 2028, 2048, 102], encoded[1].InputIds);
        Assert.Equal(Cut(Twelve, null, 8, TruncationSide.Head).Ids, ExampleEncoder.Encode(Tok, examples, null, 8)[0].InputIds);
    }

    [Fact]
    public void Example_encoder_refuses_targets_that_are_not_one_per_example_and_null_arguments_by_name()
    {
        TextExample[] examples = [new("one two", null, "1", 2), new("two", null, "0", 3)];
        // One target short was an IndexOutOfRangeException after the whole batch was tokenized; one too many went unnoticed.
        foreach (var targets in new[] { new[] { 1f }, [1f, 0f, 1f] })
        {
            var e = Assert.Throws<ArgumentException>(() => ExampleEncoder.Encode(Tok, examples, targets, 8));
            Assert.Equal("targets", e.ParamName);
            Assert.StartsWith($"targets holds {targets.Length} values for 2 examples; expected one per example, in the same order.", e.Message, StringComparison.Ordinal);
        }
        Assert.Equal([1f, 0f], ExampleEncoder.Encode(Tok, examples, [1f, 0f], 8).Select(x => x.Target));
        // A null tokenizer was a NullReferenceException.
        Assert.Equal("tokenizer", Assert.Throws<ArgumentNullException>(() => ExampleEncoder.Encode(null!, examples, null, 8)).ParamName);
        Assert.Equal("examples", Assert.Throws<ArgumentNullException>(() => ExampleEncoder.Encode(Tok, null!, null, 8)).ParamName);
    }
}
