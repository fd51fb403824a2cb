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
}
