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

/// <summary>
/// Which tokens of a text that is too long are kept (HF's <c>truncation_side</c>, plus Sun et al. 2019's head+tail for long
/// documents, "How to Fine-Tune BERT for Text Classification").
/// </summary>
public enum TruncationSide
{
    /// <summary>Keep the start, cut the end (HF <c>truncation_side="right"</c>, the default).</summary>
    Head,

    /// <summary>Keep the end, cut the start (HF <c>truncation_side="left"</c>).</summary>
    Tail,

    /// <summary>
    /// Keep the start and the end, cut the middle: <see cref="EncodeOptions.HeadTokens"/> from the start, the rest of the room
    /// from the end (Sun et al.: 128 + 382 of 512).
    /// </summary>
    HeadAndTail,
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

    /// <summary>
    /// Which tokens a truncated text keeps (<see cref="Truncation"/> decides how many). Overflowing windows
    /// (<see cref="ReturnOverflowing"/>) need <see cref="TruncationSide.Head"/>.
    /// </summary>
    public TruncationSide TruncationSide { get; init; } = TruncationSide.Head;

    /// <summary>
    /// With <see cref="TruncationSide.HeadAndTail"/>: tokens kept from the start of each truncated text (at most all it keeps);
    /// null = <see cref="TruncationSides.DefaultHeadTokens"/> (Sun et al.'s 128 of 510, in proportion).
    /// </summary>
    public int? HeadTokens { get; init; }

    public PaddingStrategy Padding { get; init; } = PaddingStrategy.None;

    public Side PaddingSide { get; init; } = Side.Right;

    public int Stride { get; init; }

    public bool ReturnOverflowing { get; init; }

    public bool AddSpecialTokens { get; init; } = true;

    /// <summary>No truncation, no padding, special tokens added.</summary>
    public static EncodeOptions Default { get; } = new();
}
