using System.Globalization;
using BertSharp.Modeling;
using BertSharp.Tokenization;

namespace BertSharp.Data;

/// <summary>A tagged sentence as model input: <c>[CLS] pieces… [SEP]</c> with one label per piece.</summary>
/// <param name="InputIds">Token ids [tokens].</param>
/// <param name="Labels">Class id per token [tokens]; -100 where no loss is taken ([CLS], [SEP], and continuation pieces unless every piece is labelled).</param>
/// <param name="WordStarts">Per word of the sentence, the position of its first piece, or -1 when the word was cut off by the maximum length (a word with no pieces is an error in <see cref="TokenLabelAlignment.Encode"/>).</param>
public sealed record TaggedFeature(int[] InputIds, long[] Labels, int[] WordStarts)
{
    /// <summary>Number of tokens.</summary>
    public int Length => InputIds.Length;

    /// <summary>Tokens of the whole sentence, [CLS] and [SEP] included, before the cut at the maximum length.</summary>
    internal int UncutLength { get; init; }
}

/// <summary>
/// HF run_ner's label alignment: each word is split into word pieces; its first piece carries the word's tag, the other
/// pieces -100 (ignored by the loss) — or, with <c>labelAllTokens</c>, the tag too, a <c>B-X</c> becoming <c>I-X</c> on
/// continuation pieces (HF's <c>b_to_i_label</c>). Sentences longer than the maximum length are truncated.
/// </summary>
public static class TokenLabelAlignment
{
    private static readonly EncodeOptions Pieces = new() { AddSpecialTokens = false };

    /// <summary>Encodes <paramref name="sentence"/> with the tag set <paramref name="labels"/> (class-id order).</summary>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="sentence">Words and tags.</param>
    /// <param name="labels">Tag names in class-id order.</param>
    /// <param name="maxLength">Tokens at most, [CLS] and [SEP] included.</param>
    /// <param name="labelAllTokens">Label every piece of a word, not just the first.</param>
    /// <param name="path">The file, for messages about tags outside <paramref name="labels"/>.</param>
    public static TaggedFeature Encode(BertTokenizer tokenizer, TaggedSentence sentence, IReadOnlyList<string> labels, int maxLength,
        bool labelAllTokens, string path)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(sentence);
        ArgumentNullException.ThrowIfNull(labels);
        var ids = new List<int> { tokenizer.ClsId };
        var tags = new List<long> { Losses.IgnoreIndex };
        var starts = new int[sentence.Words.Count];
        Array.Fill(starts, -1);
        // Every word is split for its tag check anyway: counting its pieces gives the cut's warning the longest sentence
        // without a second tokenization.
        var uncut = 2;
        for (var w = 0; w < sentence.Words.Count; w++)
        {
            var tag = Id(labels, w, sentence, path);
            var pieces = tokenizer.EncodeIds(sentence.Words[w], null, Pieces);
            if (pieces.Length == 0)
            {
                // The tokenizer, not the reader, decides what is empty: a word of only zero-width, control or whitespace
                // characters loses them all to BERT's clean-up. Without a piece it would keep WordStarts -1, be counted as
                // cut off by the maximum length, and its tag would silently be dropped from training and the scores.
                throw new BertSharpException(
                    Invariant($"{IO.LineRef.At(path, sentence.Line)}: token {(w + 1).ToString(CultureInfo.InvariantCulture)} ({Describe(sentence.Words[w])}) produces no word piece (the tokenizer removes whitespace, control and zero-width characters), so its tag '{sentence.Tags[w]}' would be lost; expected a visible word."));
            }
            uncut += pieces.Length;
            var continuation = labelAllTokens ? ContinuationOf(labels, tag) : Losses.IgnoreIndex;
            for (var p = 0; p < pieces.Length && ids.Count < maxLength - 1; p++)
            {
                if (p == 0)
                {
                    starts[w] = ids.Count;
                }
                ids.Add(pieces[p]);
                tags.Add(p == 0 ? tag : continuation);
            }
        }
        ids.Add(tokenizer.SepId);
        tags.Add(Losses.IgnoreIndex);
        return new TaggedFeature([.. ids], [.. tags], starts) { UncutLength = uncut };
    }

    /// <summary>The class id of a continuation piece under all-token labelling: I-X for B-X when the tag set has it, else the tag itself.</summary>
    /// <param name="labels">Tag names in class-id order.</param>
    /// <param name="tag">The class id of the word's first piece.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="tag"/> is not a class id of <paramref name="labels"/>.</exception>
    public static long ContinuationOf(IReadOnlyList<string> labels, long tag)
    {
        ArgumentNullException.ThrowIfNull(labels);
        // Checked as a long: a cast to int first would wrap an id past int's range onto a valid one.
        if (tag < 0 || tag >= labels.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(tag), Invariant($"expected a class id in [0, {labels.Count}), one of the {labels.Count} tags of labels; tag is {tag}."));
        }
        var name = labels[(int)tag];
        if (name.StartsWith("B-", StringComparison.Ordinal))
        {
            var inside = labels.ToList().IndexOf("I-" + name[2..]);
            if (inside >= 0)
            {
                return inside;
            }
        }
        return tag;
    }

    /// <summary>A word with no pieces, readably: its characters are invisible, so their code points (or "" when it has none).</summary>
    private static string Describe(string word) =>
        word.Length == 0 ? "\"\"" : string.Join(' ', word.EnumerateRunes().Select(r => "U+" + r.Value.ToString("X4", CultureInfo.InvariantCulture)));

    private static long Id(IReadOnlyList<string> labels, int w, TaggedSentence sentence, string path)
    {
        var tag = sentence.Tags[w];
        for (var i = 0; i < labels.Count; i++)
        {
            if (string.Equals(labels[i], tag, StringComparison.Ordinal))
            {
                return i;
            }
        }
        throw new BertSharpException(
            // The line is the sentence's first (a JSON line holds all of it): the token number finds the tag in a CoNLL sentence.
            Invariant($"{IO.LineRef.At(path, sentence.Line)}: token {(w + 1).ToString(CultureInfo.InvariantCulture)} ('{sentence.Words[w]}') has tag '{tag}', which is not one of the model's {labels.Count} tags ({string.Join(", ", labels.Take(12))}{(labels.Count > 12 ? ", …" : "")})."));
    }
}
