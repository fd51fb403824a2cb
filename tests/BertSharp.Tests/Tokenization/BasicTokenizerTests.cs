using BertSharp.Tokenization;

namespace BertSharp.Tests.Tokenization;

/// <summary>BERT basic tokenization rules (HF BertNormalizer + BertPreTokenizer), expectations worked out by hand.</summary>
public class BasicTokenizerTests
{
    [Fact]
    public void LowercasesStripsAccentsSplitsPunctuationAndCjk()
    {
        var t = new BasicTokenizer();
        Assert.Equal(
            [new("hello", 0, 5), new(",", 5, 6), new("world", 7, 12), new("!", 12, 13), new("naive", 14, 19), new("東", 20, 21), new("京", 21, 22)],
            t.Tokenize("Hello, WORLD! naïve 東京"));
    }

    [Fact]
    public void CasedKeepsAccentsAndStripAccentsCanBeForced()
    {
        Assert.Equal(["Naïve", "Café"], new BasicTokenizer(lowercase: false).Tokenize("Naïve Café").Select(p => p.Text));
        Assert.Equal(["Naive"], new BasicTokenizer(lowercase: false, stripAccents: true).Tokenize("Naïve").Select(p => p.Text));
        Assert.Equal(["naïve"], new BasicTokenizer(lowercase: true, stripAccents: false).Tokenize("NAÏVE").Select(p => p.Text));
    }

    [Fact]
    public void ControlCharsAreDroppedAndWhitespaceSplits()
    {
        var t = new BasicTokenizer();
        Assert.Equal([new("ab", 0, 3), new("c", 4, 5), new("d", 6, 7)], t.Tokenize("a\u0000b\tc\u00A0d\u200B"));
        Assert.Empty(t.Tokenize(" \u0007\uFFFD\n"));
    }

    [Fact]
    public void AsciiSymbolsCountAsPunctuationAndNeverSplitIsKept()
    {
        var t = new BasicTokenizer(neverSplit: ["[MASK]"]);
        Assert.Equal(["$", "5", "=", "x", "[MASK]", "`", "y"], t.Tokenize("$5=x[MASK]`y").Select(p => p.Text));
        Assert.Equal(["[", "mask", "]"], new BasicTokenizer().Tokenize("[MASK]").Select(p => p.Text));
    }

    [Fact]
    public void HangulDecomposesUnderAccentStripping()
    {
        // NFD turns the syllable 한 into the jamo ᄒ ᅡ ᆫ (HF uncased does the same), so it no longer matches "한".
        Assert.Equal("\u1112\u1161\u11AB", new BasicTokenizer().Tokenize("한").Single().Text);
        Assert.Equal("한", new BasicTokenizer(lowercase: false).Tokenize("한").Single().Text);
    }
}
