using System.Text;
using BertSharp.Tokenization;
using CsCheck;

namespace BertSharp.Tests.Tokenization;

/// <summary>
/// Properties over random Unicode (all planes, controls, lone surrogates, combining marks, emoji, CJK, Hangul, literal
/// special tokens): encoding never throws, every offset lies inside the input, and every non-[UNK] token is what the
/// normaliser makes of the original span it points to.
/// </summary>
public class TokenizerPropertyTests
{
    private static readonly Gen<string> Piece = Gen.Frequency(
        (6, Gen.Char['a', 'z'].Select(c => c.ToString())),
        (2, Gen.Char['A', 'Z'].Select(c => c.ToString())),
        (3, Gen.OneOf(Gen.Const(" "), Gen.Const("\t"), Gen.Const("\n"), Gen.Const("\u00A0"), Gen.Const("\u3000"), Gen.Const("\u2028"))),
        (2, Gen.Char['\0', '\u001F'].Select(c => c.ToString())),
        (2, Gen.Char['!', '/'].Select(c => c.ToString())),
        (2, Gen.Int[0x300, 0x36F].Select(char.ConvertFromUtf32)),
        (2, Gen.Int[0xC0, 0x24F].Select(char.ConvertFromUtf32)),
        (2, Gen.Int[0x1F300, 0x1FAFF].Select(char.ConvertFromUtf32)),
        (1, Gen.Int[0x4E00, 0x9FFF].Select(char.ConvertFromUtf32)),
        (1, Gen.Int[0xAC00, 0xD7A3].Select(char.ConvertFromUtf32)),
        (1, Gen.Int[0x2000, 0x206F].Select(char.ConvertFromUtf32)),
        (2, Gen.Int[0x80, 0xFFFF].Where(c => c is < 0xD800 or > 0xDFFF).Select(char.ConvertFromUtf32)),
        (2, Gen.Int[0x10000, 0x10FFFF].Select(char.ConvertFromUtf32)),
        (1, Gen.Char['\uD800', '\uDFFF'].Select(c => c.ToString())),
        (1, Gen.OneOf(Gen.Const("[MASK]"), Gen.Const("[CLS]"), Gen.Const("[mask]"), Gen.Const("\u0130"), Gen.Const("\uFFFD"), Gen.Const("\uFEFF"))));

    private static readonly Gen<string> Text = Piece.Array[0, 60].Select(p => string.Concat(p));

    public static TheoryData<string> Models => ["bert-base-uncased", "bert-base-cased"];

    [Theory]
    [MemberData(nameof(Models))]
    public void EncodeNeverThrowsAndOffsetsLieInsideTheInput(string model)
    {
        var tok = TokenizationFixtures.Tokenizer(model);
        Gen.Select(Text, Text).Sample((a, b) =>
        {
            foreach (var (text, pair) in new[] { (a, (string?)null), (a, b) })
            {
                var e = tok.Encode(text, pair);
                Assert.Equal(e.Ids, tok.EncodeIds(text, pair));
                for (var i = 0; i < e.Length; i++)
                {
                    var source = e.TypeIds[i] == 0 ? text : pair!;
                    var (s, t) = e.Utf16Offsets[i];
                    Assert.InRange(s, 0, t);
                    Assert.InRange(t, 0, source.Length);
                    var (cs, ct) = e.Offsets[i];
                    Assert.InRange(cs, 0, ct);
                    Assert.InRange(ct, 0, source.EnumerateRunesLenient());
                    if (e.SpecialTokensMask[i] == 1)
                    {
                        Assert.Equal((0, 0), e.Offsets[i]);
                    }
                    else
                    {
                        Assert.True(t > s, $"empty span for token {e.Tokens[i]}");
                    }
                }
                if (pair is null)
                {
                    Assert.Equal(e.Length - 2, tok.CountTokens(text));
                }
            }
        }, iter: 1500, threads: 1);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void EveryKnownTokenIsTheNormalisedTextOfItsSpan(string model)
    {
        var tok = TokenizationFixtures.Tokenizer(model);
        var basic = new BasicTokenizer(tok.Lowercase);
        var specials = new HashSet<int>([tok.ClsId, tok.SepId, tok.PadId, tok.MaskId, tok.UnkId]);
        Text.Sample(text =>
        {
            var e = tok.Encode(text, null, new EncodeOptions { AddSpecialTokens = false });
            for (var i = 0; i < e.Length; i++)
            {
                if (e.Ids[i] == tok.UnkId)
                {
                    continue;
                }
                var (s, t) = e.Utf16Offsets[i];
                var span = text[s..t];
                if (specials.Contains(e.Ids[i]))
                {
                    Assert.Equal(e.Tokens[i], span);
                    continue;
                }
                var piece = e.Tokens[i].StartsWith("##", StringComparison.Ordinal) ? e.Tokens[i][2..] : e.Tokens[i];
                var normalized = string.Concat(basic.Tokenize(span).Select(p => p.Text));
                // A code point can normalise to several chars (Hangul syllable → jamo, İ → i + U+0307); a piece may then
                // cover only part of it, so equality holds only when no char of the span expands.
                if (ExpandsUnderNormalization(basic, span))
                {
                    Assert.Contains(piece, normalized, StringComparison.Ordinal);
                }
                else
                {
                    Assert.Equal(piece, normalized);
                }
            }
        }, iter: 1500, threads: 1);
    }

    [Fact]
    public void HugeInputsFinish()
    {
        var tok = TokenizationFixtures.Uncased;
        var words = new StringBuilder();
        for (var i = 0; i < 2000; i++)
        {
            words.Append("unaffable").Append(i % 7 == 0 ? "\u0301" : "").Append(' ');
        }
        Assert.Equal(2000 * 3, tok.CountTokens(words.ToString()));
        var noSpace = new string('x', 200_000);
        Assert.Equal(["[UNK]"], tok.Tokenize(noSpace));
        var cjk = string.Concat(Enumerable.Repeat("東京", 50_000));
        Assert.Equal(100_000, tok.CountTokens(cjk));
    }

    private static bool ExpandsUnderNormalization(BasicTokenizer basic, string span)
    {
        foreach (var r in span.EnumerateRunes())
        {
            if (string.Concat(basic.Tokenize(r.ToString()).Select(p => p.Text)).EnumerateRunes().Count() > 1)
            {
                return true;
            }
        }
        return false;
    }
}

internal static class StringRuneExtensions
{
    /// <summary>Code points in <paramref name="s"/>, counting a lone surrogate as one (as the code-point offsets do).</summary>
    public static int EnumerateRunesLenient(this string s)
    {
        var n = 0;
        for (var i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                i++;
            }
            n++;
        }
        return n;
    }
}
