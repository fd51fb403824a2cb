
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

    /// <summary>Pad to <see cref="EncodeOptions.PaddingLength"/>, or to <see cref="EncodeOptions.MaxLength"/> when that is null (HF <c>max_length</c> / <c>Fixed</c>).</summary>
    MaxLength,
}

/// <summary>
/// Which word pieces a text longer than the maximum length keeps (<see cref="EncodeOptions.TruncationSide"/>, fine-tuning,
/// classifiers): HF's two truncation sides and Sun et al. 2019's head+tail for long documents ("How to Fine-Tune BERT for Text Classification").
/// </summary>
public enum TruncationSide
{
    /// <summary>Keep the start, cut the end (HF's default <c>truncation_side="right"</c>).</summary>
    Head,

    /// <summary>Keep the end, cut the start (HF's <c>truncation_side="left"</c>).</summary>
    Tail,

    /// <summary>
    /// Keep the start and the end, cut the middle (<see cref="EncodeOptions.HeadTokens"/> from the start): Sun et al. keep the
    /// first 128 and the last 382 word pieces of 512.
    /// </summary>
    HeadAndTail,
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

    /// <summary>
    /// Which word pieces a truncated text keeps: its start (<see cref="TruncationSide.Head"/>, HF's
    /// <c>truncation_side="right"</c>), its end (<see cref="TruncationSide.Tail"/>, HF's <c>"left"</c>; overflowing windows
    /// then step towards the start) or both (<see cref="TruncationSide.HeadAndTail"/>, Sun et al. 2019; no overflowing windows).
    /// </summary>
    public TruncationSide TruncationSide { get; init; } = TruncationSide.Head;

    /// <summary>
    /// With <see cref="TruncationSide.HeadAndTail"/>: word pieces kept from the start of each truncated text (at most all it
    /// keeps); null = <see cref="TruncationSides.DefaultHeadTokens"/>, Sun et al.'s 128 of 510 in proportion.
    /// </summary>
    public int? HeadTokens { get; init; }

    /// <summary>
    /// The length <see cref="PaddingStrategy.MaxLength"/> pads to when it differs from <see cref="MaxLength"/> (HF's
    /// <c>PaddingStrategy::Fixed</c>, independent of truncation); null pads to <see cref="MaxLength"/>.
    /// </summary>
    public int? PaddingLength { get; init; }

    /// <summary>
    /// Rounds the padded length up to a multiple of this (HF <c>pad_to_multiple_of</c>, e.g. 8 for tensor cores); applies
    /// only when padding is on.
    /// </summary>
    public int? PadToMultipleOf { get; init; }

    public bool ReturnOverflowing { get; init; }

    public bool AddSpecialTokens { get; init; } = true;

    /// <summary>No truncation, no padding, special tokens added.</summary>
    public static EncodeOptions Default { get; } = new();

    /// <summary><paramref name="length"/> rounded up to <see cref="PadToMultipleOf"/>, as HF's <c>pad_encodings</c> does.</summary>
    internal int RoundPadding(int length) =>
        PadToMultipleOf is > 0 and var m && length % m != 0 ? checked(length + m - (length % m)) : length;

    /// <summary>Throws <see cref="BertSharpException"/> for values HF refuses or that cannot mean anything.</summary>
    internal void Validate()
    {
        // An int cast to an enum (a value from a config file or another language) that names no member was read as the
        // default branch: (TruncationStrategy)7 did not truncate, so encodings came out longer than MaxLength.
        if ((uint)Truncation > (uint)TruncationStrategy.OnlySecond || (uint)Padding > (uint)PaddingStrategy.MaxLength
            || (uint)TruncationSide > (uint)TruncationSide.HeadAndTail || (uint)PaddingSide > (uint)Side.Left)
        {
            throw new BertSharpException(
                Invariant($"encode options: truncation {(int)Truncation}, padding {(int)Padding}, truncation side {(int)TruncationSide} or padding side {(int)PaddingSide} is not a value of its enum."));
        }
        if (MaxLength is < 0 || PaddingLength is < 0 || Stride < 0)
        {
            throw new BertSharpException(Invariant($"max_length, padding length and stride must be ≥ 0 (got {MaxLength}, {PaddingLength}, {Stride})."));
        }
        if (PadToMultipleOf is <= 0)
        {
            throw new BertSharpException(Invariant($"pad_to_multiple_of must be positive, got {PadToMultipleOf}."));
        }
        if (Padding == PaddingStrategy.MaxLength && PaddingLength is null && MaxLength is null)
        {
            throw new BertSharpException("padding to max_length needs a max length (MaxLength or PaddingLength).");
        }
    }
}
