using System.Text;
using BertSharp.Tokenization;

namespace BertSharp.Fuzz;

/// <summary>
/// The tokenizer with every option (truncation strategy and side, stride, padding, pad_to_multiple_of, pairs, overflow)
/// on text made from the input: as UTF-8, as raw UTF-16 code units (lone surrogates included), or as a sequence of
/// "interesting" pieces (combining marks of every class, marks that survive accent stripping, CJK, Hangul, emoji, controls,
/// special tokens). Invariants: ids in the vocabulary, offsets inside their text and ordered, EncodeIds equal to Encode's
/// ids, CountTokens equal to the plain encoding's length, decoding does not fail.
/// </summary>
public sealed class TokenizerTarget : FuzzTarget
{
    private static readonly string[] Pieces = BuildPieces();

    private readonly BertTokenizer[] _tokenizers;

    public TokenizerTarget()
    {
        var dir = Path.Combine(Repo.Fixtures, "tokenization");
        var vocab = Path.Combine(Repo.Scratch, "uncased-vocab.txt");
        File.WriteAllBytes(vocab, Repo.Gunzip(Path.Combine(dir, "bert-base-uncased-vocab.txt.gz")));
        var cased = Path.Combine(Repo.Scratch, "cased-vocab.txt");
        File.WriteAllBytes(cased, Repo.Gunzip(Path.Combine(dir, "bert-base-cased-vocab.txt.gz")));
        _tokenizers =
        [
            BertTokenizer.FromVocabFile(vocab, lowercase: true),
            BertTokenizer.FromVocabFile(cased, lowercase: false),
            BertTokenizer.FromVocabFile(cased, lowercase: false, stripAccents: true),
            BertTokenizer.FromVocabFile(vocab, lowercase: true, stripAccents: false),
        ];
        var seeds = new List<byte[]>();
        foreach (var text in new[]
                 {
                     "The cat sat on the [MASK].", "naïve café résumé 東京 unaffable", "x \U0001E944\u0301\u0327 Ǖ\u0316",
                     "Hello, y'all! How are you 😁 ?", "한국어 텍스트 ཀྵ ำ", "a\u0000b\u00a0c\u200bd",
                 })
        {
            seeds.Add([0, 0, 0, 0, 0, .. Encoding.UTF8.GetBytes(text)]);
            seeds.Add([1, 2, 12, 2, 0b0101_0111, .. Encoding.UTF8.GetBytes(text), 0x1F, .. Encoding.UTF8.GetBytes("It was happy.")]);
        }
        seeds.Add([2, 3, 20, 4, 0b1111_1111, .. Enumerable.Range(0, 200).Select(i => (byte)(i * 37))]);
        Seeds = seeds;
    }

    public override string Name => "tokenizer";

    public override IReadOnlyList<byte[]> Seeds { get; }

    public override void Run(byte[] input)
    {
        if (input.Length < 5)
        {
            return;
        }
        var tok = _tokenizers[input[0] % _tokenizers.Length];
        var flags = input[4];
        var body = input.AsSpan(5);
        string? pair = null;
        var split = (flags & 0x40) != 0 ? body.IndexOf((byte)0x1F) : -1;
        var text = Text(input[1] % 3, split >= 0 ? body[..split] : body);
        if (split >= 0)
        {
            pair = Text(input[1] % 3, body[(split + 1)..]);
        }
        var max = input[2] == 0 ? (int?)null : input[2] % 70;
        var options = new EncodeOptions
        {
            MaxLength = max,
            Stride = input[3] % 8,
            Truncation = (TruncationStrategy)(flags & 3),
            TruncationSide = (flags & 4) != 0 ? TruncationSide.Tail : TruncationSide.Head,
            Padding = (PaddingStrategy)((flags >> 3) % 3),
            PaddingSide = (flags & 0x20) != 0 ? Side.Left : Side.Right,
            PadToMultipleOf = (flags & 0x80) != 0 ? 1 + (input[3] % 9) : null,
            PaddingLength = (flags & 0x80) != 0 && input[3] > 200 ? input[3] - 190 : null,
            ReturnOverflowing = (flags & 0x10) != 0,
            AddSpecialTokens = (flags & 0x08) == 0 || max is null,
        };
        var e = tok.Encode(text, pair, options);
        Check(tok, e, text, pair);
        foreach (var o in e.Overflowing)
        {
            Check(tok, o, text, pair);
        }
        var ids = tok.EncodeIds(text, pair, options);
        if (!ids.AsSpan().SequenceEqual(e.Ids))
        {
            throw new InvariantException("EncodeIds differs from Encode().Ids");
        }
        if (pair is null && max is null && options.Padding == PaddingStrategy.None && !options.AddSpecialTokens && tok.CountTokens(text) != e.Length)
        {
            throw new InvariantException($"CountTokens {tok.CountTokens(text)} differs from the encoding's {e.Length} tokens");
        }
        tok.Decode(e.Ids, skipSpecialTokens: (flags & 1) != 0);
    }

    private static void Check(BertTokenizer tok, BertEncoding e, string text, string? pair)
    {
        var n = e.Ids.Length;
        if (e.Tokens.Length != n || e.Offsets.Length != n || e.TypeIds.Length != n || e.AttentionMask.Length != n || e.WordIds.Length != n)
        {
            throw new InvariantException("encoding arrays have different lengths");
        }
        var lengths = new[] { CodePoints(text), pair is null ? 0 : CodePoints(pair) };
        var last = new[] { 0, 0 };
        for (var i = 0; i < n; i++)
        {
            if ((uint)e.Ids[i] >= (uint)tok.Vocab.Count || tok.Vocab[e.Ids[i]] != e.Tokens[i])
            {
                throw new InvariantException($"token {i}: id {e.Ids[i]} / '{e.Tokens[i]}' is not a vocabulary entry");
            }
            if (e.SpecialTokensMask[i] == 1)
            {
                continue;
            }
            var (s, t) = e.Offsets[i];
            var seq = e.TypeIds[i];
            if (s < 0 || s > t || t > lengths[seq] || s < last[seq])
            {
                throw new InvariantException($"token {i} '{e.Tokens[i]}': offsets ({s}, {t}) outside text {seq} of {lengths[seq]} code points or out of order");
            }
            last[seq] = Math.Max(last[seq], s);
        }
    }

    private static int CodePoints(string s)
    {
        var n = 0;
        for (var i = 0; i < s.Length; i++, n++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                i++;
            }
        }
        return n;
    }

    private static string Text(int mode, ReadOnlySpan<byte> bytes)
    {
        switch (mode)
        {
            case 0:
                return Encoding.UTF8.GetString(bytes);
            case 1:
            {
                var chars = new char[bytes.Length / 2];
                for (var i = 0; i < chars.Length; i++)
                {
                    chars[i] = (char)(bytes[2 * i] | (bytes[(2 * i) + 1] << 8));
                }
                return new string(chars);
            }
            default:
            {
                var sb = new StringBuilder();
                foreach (var b in bytes)
                {
                    sb.Append(Pieces[b]);
                }
                return sb.ToString();
            }
        }
    }

    private static string[] BuildPieces()
    {
        var list = new List<string>
        {
            " ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "\u200b", "\u0000", "\u0007", "\ufffd", "\ufeff", ".", ",", "'", "\"", "-", "##",
            "[MASK]", "[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK", "MASK]", "a", "b", "e", "E", "i", "I", "ı", "İ", "ß", "ﬁ", "é", "É", "Å", "ǖ",
            "ọ", "ά", "ё", "ש", "ب", "क", "ক", "ก", "ཀ", "가", "각", "東", "京", "𠀀", "😀", "👍🏽", "👨‍👩‍👧", "🇫🇷", "𝔸", "Ω", "Ⅻ", "①", "ｱ", "ﾞ",
            "don", "'t", "the", "movie", "unaffable", "123", "4.5", "\U0001E944", "\U0001D165", "\U0001D16D", "\u0F39", "\u0903", "\u0F73",
            "\u0344", "\U00011938", "\U000E0041", "\U000F0000", ((char)0xD800).ToString(), ((char)0xDC00).ToString(),
        };
        // Combining marks of many classes (1, 7, 9, 202, 214, 216, 220, 222, 228, 230, 232, 233, 234, 240) and nonspacing marks of class 0.
        foreach (var cp in new[] { 0x334, 0x93C, 0x94D, 0x327, 0x31B, 0x1D165, 0x316, 0x59A, 0x302A, 0x301, 0x300, 0x308, 0x315, 0x35C, 0x35D, 0x345, 0x5B0, 0x64B, 0x651, 0xE48, 0x3099, 0x1DCE, 0x1D16E, 0x302B, 0x1AB0, 0x20D0, 0xFE20, 0x10A0D, 0x1E8D0, 0x7FD, 0x1DF6, 0x1E130, 0xF71, 0xF72, 0xF74, 0xF80 })
        {
            list.Add(char.ConvertFromUtf32(cp));
        }
        // Repeat the list to fill the byte → piece table.
        var distinct = list.Count;
        while (list.Count < 256)
        {
            list.Add(list[list.Count % distinct]);
        }
        return [.. list.Take(256)];
    }
}
