using BertSharp.Tests.Infrastructure;
using BertSharp.Tokenization;

namespace BertSharp.Tests.Tokenization;

/// <summary>
/// Pairs, truncation, overflow, padding and masks on bert-base-uncased. Expected ids come from the HF reference pair
/// in shared/data/tokenizer_reference/README.md ("The cat sat on the [MASK]." + "It was happy."); expected lengths follow
/// HF's truncate_encodings / Encoding::truncate / Encoding::pad rules worked out by hand.
/// </summary>
public class EncodingTests
{
    private const string A = "The cat sat on the [MASK].";
    private const string B = "It was happy.";
    private static readonly int[] IdsA = [1996, 4937, 2938, 2006, 1996, 103, 1012];
    private static readonly int[] IdsB = [2009, 2001, 3407, 1012];

    private static BertTokenizer Tok => TokenizationFixtures.Uncased;

    [Fact]
    public void PairHasClsSepTypeIdsMasksAndPerTextOffsets()
    {
        var e = Tok.Encode(A, B);
        Assert.Equal([101, 1996, 4937, 2938, 2006, 1996, 103, 1012, 102, 2009, 2001, 3407, 1012, 102], e.Ids);
        Assert.Equal([0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1], e.TypeIds);
        Assert.Equal(Enumerable.Repeat(1, 14), e.AttentionMask);
        Assert.Equal([1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1], e.SpecialTokensMask);
        Assert.Equal([-1, 0, 1, 2, 3, 4, 5, 6, -1, 0, 1, 2, 3, -1], e.WordIds);
        Assert.Equal((19, 25), e.Offsets[6]);
        Assert.Equal("[MASK]", e.Tokens[6]);
        Assert.Equal([(0, 0), (0, 2), (3, 6), (7, 12), (12, 13), (0, 0)], e.Offsets[8..]);
        Assert.Equal(14, e.Length);
    }

    [Fact]
    public void WithoutSpecialTokensOnlyTextTokensRemain()
    {
        var e = Tok.Encode(A, B, new EncodeOptions { AddSpecialTokens = false });
        Assert.Equal([.. IdsA, .. IdsB], e.Ids);
        Assert.Equal([.. IdsA, .. IdsB], Tok.EncodeIds(A, B, new EncodeOptions { AddSpecialTokens = false }));
    }

    [Fact]
    public void A_vocabulary_without_sep_is_refused_naming_its_file_and_the_field()
    {
        // It said "encode with AddSpecialTokens = false", a C# property, and not which vocabulary; without special tokens it encodes.
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("vocab.txt");
        File.WriteAllLines(path, ["[PAD]", "[UNK]", "[CLS]", "hello"]);
        var tok = BertTokenizer.FromVocabFile(path);
        var expected = $"{path}: the vocabulary has no [SEP] token, which add_special_tokens puts around every text; encode with add_special_tokens false, or use a vocabulary with [CLS] and [SEP].";
        var e = Assert.Throws<BertSharpException>(() => tok.Encode("hello"));
        Assert.Equal(expected, e.Message);
        // Named plainly: no flag answers to it, so the CLI has nothing to rename (its commands refuse such a vocabulary first).
        Assert.Empty(e.Fields);
        Assert.Equal(expected, Assert.Throws<BertSharpException>(() => tok.EncodeIds("hello")).Message);
        Assert.StartsWith("the vocabulary has no [CLS] and [SEP] tokens,", Assert.Throws<BertSharpException>(
            () => new BertTokenizer(new Vocabulary(["[UNK]", "hello"])).EncodeIds("hello")).Message, StringComparison.Ordinal);
        Assert.Equal([3], tok.EncodeIds("hello", options: new EncodeOptions { AddSpecialTokens = false }));
    }

    [Fact]
    public void LongestFirstSplitsTheBudgetAsHuggingFaceDoes()
    {
        // room = 10 - 3 = 7; n1 = 4 (B), n2 = 7 (A): max(4, 7 - 4) = 4, 4 + 4 > 7, so 3 and 4 → A keeps 4, B keeps 3.
        var e = Tok.Encode(A, B, new EncodeOptions { MaxLength = 10 });
        Assert.Equal([101, 1996, 4937, 2938, 2006, 102, 2009, 2001, 3407, 102], e.Ids);
        Assert.Empty(e.Overflowing);
    }

    [Fact]
    public void OnlyFirstAndOnlySecondTruncateOneSide()
    {
        var first = Tok.Encode(A, B, new EncodeOptions { MaxLength = 10, Truncation = TruncationStrategy.OnlyFirst });
        Assert.Equal([101, 1996, 4937, 2938, 102, 2009, 2001, 3407, 1012, 102], first.Ids);
        var second = Tok.Encode(A, B, new EncodeOptions { MaxLength = 12, Truncation = TruncationStrategy.OnlySecond });
        Assert.Equal([101, .. IdsA, 102, 2009, 2001, 102], second.Ids);
        Assert.Throws<BertSharpException>(() => Tok.Encode(A, B, new EncodeOptions { MaxLength = 10, Truncation = TruncationStrategy.OnlySecond }));
        Assert.Throws<BertSharpException>(() => Tok.Encode(A, null, new EncodeOptions { MaxLength = 5, Truncation = TruncationStrategy.OnlySecond }));
    }

    [Fact]
    public void NoTruncationSidesEverything()
    {
        var e = Tok.Encode(A, B, new EncodeOptions { MaxLength = 5, Truncation = TruncationStrategy.None });
        Assert.Equal(14, e.Length);
    }

    [Fact]
    public void SingleTextOverflowWindowsOverlapByStride()
    {
        // room 4, stride 2: windows [0,4) [2,6) [4,7) over the 7 tokens of A.
        var e = Tok.Encode(A, null, new EncodeOptions { MaxLength = 6, Stride = 2, ReturnOverflowing = true });
        Assert.Equal([101, 1996, 4937, 2938, 2006, 102], e.Ids);
        Assert.Equal(2, e.Overflowing.Count);
        Assert.Equal([101, 2938, 2006, 1996, 103, 102], e.Overflowing[0].Ids);
        Assert.Equal([101, 1996, 103, 1012, 102], e.Overflowing[1].Ids);
        Assert.Equal((8, 11), e.Overflowing[0].Offsets[1]);
        Assert.Empty(Tok.Encode(A, null, new EncodeOptions { MaxLength = 6, Stride = 2 }).Overflowing);
    }

    [Fact]
    public void QuestionContextWindowsKeepTheQuestion()
    {
        // only_second, room 7: question 4 tokens, context 7 → 3 per window, stride 1: [0,3) [2,5) [4,7).
        var e = Tok.Encode(B, A, new EncodeOptions
        {
            MaxLength = 10, Truncation = TruncationStrategy.OnlySecond, Stride = 1, ReturnOverflowing = true,
            Padding = PaddingStrategy.MaxLength,
        });
        int[] q = [101, 2009, 2001, 3407, 1012, 102];
        Assert.Equal([.. q, 1996, 4937, 2938, 102], e.Ids);
        Assert.Equal(2, e.Overflowing.Count);
        Assert.Equal([.. q, 2938, 2006, 1996, 102], e.Overflowing[0].Ids);
        Assert.Equal([.. q, 1996, 103, 1012, 102], e.Overflowing[1].Ids);
        Assert.Equal([0, 0, 0, 0, 0, 0, 1, 1, 1, 1], e.Overflowing[1].TypeIds);
        Assert.Equal([(8, 11), (12, 14), (15, 18)], e.Overflowing[0].Offsets[6..9]);
        Assert.All(e.Overflowing, o => Assert.Equal(10, o.Length));
    }

    [Fact]
    public void StrideMustBeSmallerThanTheWindow()
    {
        Assert.Throws<BertSharpException>(() => Tok.Encode(A, null, new EncodeOptions { MaxLength = 6, Stride = 4, ReturnOverflowing = true }));
    }

    [Fact]
    public void PaddingRightAndLeft()
    {
        var right = Tok.Encode(B, null, new EncodeOptions { MaxLength = 8, Padding = PaddingStrategy.MaxLength });
        Assert.Equal([101, .. IdsB, 102, 0, 0], right.Ids);
        Assert.Equal([1, 1, 1, 1, 1, 1, 0, 0], right.AttentionMask);
        Assert.Equal([1, 0, 0, 0, 0, 1, 1, 1], right.SpecialTokensMask);
        Assert.Equal(["[PAD]", "[PAD]"], right.Tokens[6..]);
        Assert.Equal([-1, -1], right.WordIds[6..]);
        var left = Tok.Encode(B, null, new EncodeOptions { MaxLength = 8, Padding = PaddingStrategy.MaxLength, PaddingSide = Side.Left });
        Assert.Equal([0, 0, 101, .. IdsB, 102], left.Ids);
        Assert.Equal([0, 0, 1, 1, 1, 1, 1, 1], left.AttentionMask);
        Assert.Equal((0, 2), left.Offsets[3]);
    }

    [Fact]
    public void BatchPadsToLongestAndMatchesSingleEncodes()
    {
        var inputs = Enumerable.Range(0, 200).Select(i => (i % 2 == 0 ? B : A + " " + i, (string?)(i % 3 == 0 ? B : null))).ToList();
        var batch = Tok.EncodeBatch(inputs, new EncodeOptions { Padding = PaddingStrategy.Longest });
        var longest = inputs.Max(x => Tok.Encode(x.Item1, x.Item2).Length);
        for (var i = 0; i < inputs.Count; i++)
        {
            var single = Tok.Encode(inputs[i].Item1, inputs[i].Item2);
            Assert.Equal(longest, batch[i].Length);
            Assert.Equal(single.Ids, batch[i].Ids[..single.Length]);
            Assert.All(batch[i].Ids[single.Length..], id => Assert.Equal(Tok.PadId, id));
        }
    }

    [Fact]
    public void EmptyBatchAndEmptyText()
    {
        Assert.Empty(Tok.EncodeBatch([], new EncodeOptions { Padding = PaddingStrategy.Longest }));
        Assert.Equal([101, 102], Tok.Encode("").Ids);
        Assert.Equal(0, Tok.CountTokens(""));
    }

    [Fact]
    public void EncodeBatchNullTextIsOneArgumentNullNamingTheItem()
    {
        // 100 items span several partitions of the parallel loop; the null one sits in a later partition.
        var inputs = Enumerable.Range(0, 100).Select(i => (i == 73 ? null! : A, (string?)null)).ToList();
        var e = Assert.Throws<ArgumentNullException>(() => Tok.EncodeBatch(inputs));
        Assert.Equal("text", e.ParamName);
        Assert.StartsWith("batch item 73 has a null text.", e.Message);
    }

    [Fact]
    public void OptionsOutsideTheirEnumsAreRefused()
    {
        // (TruncationStrategy)7 fell through to "no truncation": all 14 tokens came back for MaxLength 5.
        Assert.Throws<BertSharpException>(() => Tok.Encode(A, B, new EncodeOptions { MaxLength = 5, Truncation = (TruncationStrategy)7 }));
        Assert.Throws<BertSharpException>(() => Tok.EncodeIds(A, B, new EncodeOptions { MaxLength = 5, Truncation = (TruncationStrategy)7 }));
        Assert.Throws<BertSharpException>(() => Tok.Encode(A, null, new EncodeOptions { Padding = (PaddingStrategy)3, MaxLength = 9 }));
        Assert.Throws<BertSharpException>(() => Tok.Encode(A, null, new EncodeOptions { MaxLength = 3, TruncationSide = (TruncationSide)3 }));
        // EncodeIds refuses what Encode refuses, also where it would not need the option.
        Assert.Throws<BertSharpException>(() => Tok.EncodeIds(A, null, new EncodeOptions { TruncationSide = (TruncationSide)3 }));
        Assert.Throws<BertSharpException>(() => Tok.EncodeIds(A, null, new EncodeOptions { PadToMultipleOf = 0 }));
        var e = Assert.Throws<BertSharpException>(() => Tok.Encode(A, null, new EncodeOptions { Padding = PaddingStrategy.MaxLength, MaxLength = 9, PaddingSide = (Side)2 }));
        Assert.Equal("encode options: truncation 1, padding 2, truncation side 0 or padding side 2 is not a value of its enum.", e.Message);
    }

    [Fact]
    public void A_negative_length_or_stride_is_refused_naming_that_option_alone()
    {
        // One message served all three: "max_length, padding length and stride must be ≥ 0 (got 64, , -1)", the unset
        // padding length an empty slot between commas, and which value was wrong left to the caller to count.
        var cases = new (EncodeOptions Options, string Field, string Message)[]
        {
            (new EncodeOptions { MaxLength = -1 }, "max_length", "max_length -1: expected a number ≥ 0."),
            (new EncodeOptions { MaxLength = 8, Padding = PaddingStrategy.MaxLength, PaddingLength = -3 }, "padding_length", "padding_length -3: expected a number ≥ 0."),
            (new EncodeOptions { MaxLength = 64, Stride = -1, ReturnOverflowing = true }, "stride", "stride -1: expected a number ≥ 0."),
        };
        foreach (var (options, field, message) in cases)
        {
            var e = Assert.Throws<BertSharpException>(() => Tok.Encode(A, B, options));
            Assert.Equal(message, e.Message);
            Assert.Equal([field], e.Fields);
            Assert.Equal(message, Assert.Throws<BertSharpException>(() => Tok.EncodeIds(A, B, options)).Message);
        }
    }

    [Fact]
    public void EncodeBatchBadOptionsThrowWhatEncodeThrowsOnce()
    {
        var options = new EncodeOptions { PadToMultipleOf = 0 };
        var single = Assert.Throws<BertSharpException>(() => Tok.Encode(A, null, options));
        var batch = Assert.Throws<BertSharpException>(() => Tok.EncodeBatch([.. Enumerable.Repeat((A, (string?)B), 100)], options));
        Assert.Equal(single.Message, batch.Message);
        // Refused before anything is encoded, so an empty batch is no exception to it.
        Assert.Throws<BertSharpException>(() => Tok.EncodeBatch([], options));
    }

    [Fact]
    public void EncodeBatchItemErrorIsUnwrapped()
    {
        // max_length 1 cannot hold [CLS] and [SEP]: only items that need truncating fail, inside the parallel loop.
        var options = new EncodeOptions { MaxLength = 1, Truncation = TruncationStrategy.LongestFirst };
        var single = Assert.Throws<BertSharpException>(() => Tok.Encode(A, null, options));
        var batch = Assert.Throws<BertSharpException>(() => Tok.EncodeBatch([.. Enumerable.Repeat((A, (string?)null), 100)], options));
        Assert.Equal(single.Message, batch.Message);
    }

    [Fact]
    public void UnicodeOffsetsAreCodePointsAndUtf16()
    {
        var e = Tok.Encode("a 😁 b");
        Assert.Equal(["[CLS]", "a", "[UNK]", "b", "[SEP]"], e.Tokens);
        Assert.Equal([(0, 0), (0, 1), (2, 3), (4, 5), (0, 0)], e.Offsets);
        Assert.Equal([(0, 0), (0, 1), (2, 4), (5, 6), (0, 0)], e.Utf16Offsets);
    }

    [Fact]
    public void LongWordsBecomeOneUnk()
    {
        var word = new string('a', 101);
        Assert.Equal(["[UNK]"], Tok.Tokenize(word));
        Assert.NotEqual(["[UNK]"], Tok.Tokenize(word[..100]));
    }

    [Fact]
    public void Limits_below_one_are_refused_naming_the_parameter()
    {
        // maxInputCharsPerWord 0 made every word [UNK]; a model_max_length of -5 was kept and written by Save.
        Assert.Equal("maxInputCharsPerWord", Assert.Throws<ArgumentOutOfRangeException>(() => new BertTokenizer(Tok.Vocab, maxInputCharsPerWord: 0)).ParamName);
        Assert.Equal("modelMaxLength", Assert.Throws<ArgumentOutOfRangeException>(() => new BertTokenizer(Tok.Vocab, modelMaxLength: -5)).ParamName);
        Assert.Equal("modelMaxLength", Assert.Throws<ArgumentOutOfRangeException>(() => Tok.WithModelMaxLength(0)).ParamName);
        Assert.Equal(["a"], new BertTokenizer(Tok.Vocab, maxInputCharsPerWord: 1, modelMaxLength: 1).Tokenize("a"));
    }
}
