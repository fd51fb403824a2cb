namespace BertSharp.Tokenization;

/// <summary>
/// One encoded input (a text or a pair), all arrays of length <see cref="Length"/>: what a BERT model takes as
/// <c>input_ids</c>, <c>token_type_ids</c> and <c>attention_mask</c> (each shape [Length]), plus offsets back into the inputs.
/// </summary>
public sealed class BertEncoding
{
    internal BertEncoding(int length)
    {
        Ids = new int[length];
        TypeIds = new int[length];
        AttentionMask = new int[length];
        SpecialTokensMask = new int[length];
        Tokens = new string[length];
        Offsets = new (int, int)[length];
        Utf16Offsets = new (int, int)[length];
        WordIds = new int[length];
    }

    /// <summary>Token ids, shape [Length].</summary>
    public int[] Ids { get; }

    /// <summary>Segment ids: 0 for [CLS], the first text and its [SEP]; 1 for the second text and its [SEP]; 0 for padding.</summary>
    public int[] TypeIds { get; }

    /// <summary>1 for real tokens, 0 for padding.</summary>
    public int[] AttentionMask { get; }

    /// <summary>1 for [CLS], [SEP] and padding added by the encoder; 0 for tokens of the text (including literal [MASK]).</summary>
    public int[] SpecialTokensMask { get; }

    /// <summary>Token strings.</summary>
    public string[] Tokens { get; }

    /// <summary>Unicode code-point offsets [Start, End) into the text the token came from; (0, 0) for added special tokens.</summary>
    public (int Start, int End)[] Offsets { get; }

    /// <summary>The same offsets in UTF-16 code units (indexes into the .NET string).</summary>
    public (int Start, int End)[] Utf16Offsets { get; }

    /// <summary>Index of the pre-tokenized word (per text) each token belongs to; -1 for added special tokens and padding.</summary>
    public int[] WordIds { get; }

    /// <summary>The windows cut off by truncation when <see cref="EncodeOptions.ReturnOverflowing"/> was set.</summary>
    public IReadOnlyList<BertEncoding> Overflowing { get; internal set; } = [];

    /// <summary>Number of tokens (including special tokens and padding).</summary>
    public int Length => Ids.Length;
}
