using BertSharp.Tokenization;

namespace BertSharp.Tests.Tokenization;

/// <summary>Decoding with HF's WordPiece decoder clean-up and transformers' clean_up_tokenization, worked by hand.</summary>
public class DecodeTests
{
    private const string Text = "Hello, y'all! How are you 😁 ? naïve café résumé 東京 unaffable";

    [Fact]
    public void SkipsSpecialTokensGluesPiecesAndCleansSpaces()
    {
        var tok = TokenizationFixtures.Uncased;
        var ids = tok.EncodeIds(Text);
        Assert.Equal("hello, y'all! how are you? naive cafe resume 東 京 unaffable", tok.Decode(ids));
        Assert.Equal("[CLS] hello, y'all! how are you [UNK]? naive cafe resume 東 京 unaffable [SEP]", tok.Decode(ids, skipSpecialTokens: false));
        // Without the string-level clean-up only the decoder's per-token rules apply: " ' " spans two tokens and stays.
        Assert.Equal("hello, y ' all! how are you? naive cafe resume 東 京 unaffable", tok.Decode(ids, cleanUpTokenizationSpaces: false));
    }

    [Fact]
    public void ContractionsAndLeadingPieceAndUnknownIds()
    {
        var tok = TokenizationFixtures.Uncased;
        Assert.Equal("don't it's", tok.Decode(tok.EncodeIds("don ' t it ' s")));
        Assert.Equal("##ffa", tok.Decode([tok.Vocab["##ffa"]]));
        Assert.Equal("the", tok.Decode([-5, tok.Vocab["the"], tok.Vocab.Count + 3]));
    }

    // The tokens of "U.S. officials didn't say, they're "sure" it's ok!" (bert-base-uncased) and the word HF transformers 5.17's
    // token-classification pipeline printed for them as one group (its WordPiece decoder, measured 2026-12-04).
    internal static readonly string[] UsOfficials = ["u", ".", "s", ".", "official", "##s", "didn", "'", "t", "say", ",", "they", "'", "re", "\"", "sure", "\"", "it", "'", "s", "ok", "!"];

    internal const string UsOfficialsHf = "u. s. officials didn ' t say, they ' re \" sure \" it ' s ok!";

    [Fact]
    public void Tokens_join_as_hfs_wordpiece_decoder_joins_them()
    {
        Assert.Equal(UsOfficialsHf, BertTokenizer.ConvertTokensToString(UsOfficials));
        // A tokenizer.json whose decoder has cleanup off: spaces before every token but ## pieces.
        Assert.Equal("u . s . officials didn ' t say , they ' re \" sure \" it ' s ok !", BertTokenizer.ConvertTokensToString(UsOfficials, decoderCleanup: false));
        Assert.Equal("##ffa", BertTokenizer.ConvertTokensToString(["##ffa"]));
        Assert.Equal("", BertTokenizer.ConvertTokensToString([]));
        // Decode is the same join of the ids' tokens (plus the string-level clean-up when asked).
        var tok = TokenizationFixtures.Uncased;
        Assert.Equal(UsOfficialsHf, tok.Decode(UsOfficials.Select(t => tok.Vocab[t]), cleanUpTokenizationSpaces: false));
    }
}
