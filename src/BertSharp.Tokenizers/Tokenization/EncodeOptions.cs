namespace BertSharp.Tokenization;

/// <summary>How a pair (or a single text) is shortened to <see cref="EncodeOptions.MaxLength"/>, as in HF.</summary>
public enum TruncationStrategy
{
    /// <summary>Never truncate.</summary>
    None,

    /// <summary>Remove tokens from the longer sequence first (HF <c>longest_first</c>).</summary>
    LongestFirst,

    /// <summary>Truncate only the first text (HF <c>only_first</c>).</summary>
    OnlyFirst,

    /// <summary>Truncate only the second text (HF <c>only_second</c>; needs a pair).</summary>
    OnlySecond,
}

/// <summary>Padding of encodings.</summary>
public enum PaddingStrategy
{
    /// <summary>No padding.</summary>
    None,

    /// <summary>Pad to the longest encoding of the batch.</summary>
    Longest,

    /// <summary>Pad to <see cref="EncodeOptions.MaxLength"/>.</summary>
    MaxLength,
}

/// <summary>Which end of the sequence padding goes to.</summary>
public enum Side
{
    Right,
    Left,
}

/// <summary>
/// Encoding options with HF semantics: <see cref="MaxLength"/> counts the special tokens; truncation applies only when
/// <see cref="MaxLength"/> is set; with <see cref="ReturnOverflowing"/> the cut-off tokens come back as extra windows
/// that overlap by <see cref="Stride"/> tokens.
/// </summary>
public sealed record EncodeOptions
{
    public int? MaxLength { get; init; }

    public TruncationStrategy Truncation { get; init; } = TruncationStrategy.LongestFirst;

    public PaddingStrategy Padding { get; init; } = PaddingStrategy.None;

    public Side PaddingSide { get; init; } = Side.Right;

    public int Stride { get; init; }

    public bool ReturnOverflowing { get; init; }

    public bool AddSpecialTokens { get; init; } = true;

    /// <summary>No truncation, no padding, special tokens added.</summary>
    public static EncodeOptions Default { get; } = new();
}
