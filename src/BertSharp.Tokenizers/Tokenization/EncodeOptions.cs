
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
    /// <summary>After the tokens (HF's <c>padding_side="right"</c>, the default).</summary>
    Right,

    /// <summary>Before the tokens (HF's <c>padding_side="left"</c>).</summary>
    Left,
}

/// <summary>
/// Encoding options with HF semantics: <see cref="MaxLength"/> counts the special tokens; truncation applies only when
/// <see cref="MaxLength"/> is set; with <see cref="ReturnOverflowing"/> the cut-off tokens come back as extra windows
/// that overlap by <see cref="Stride"/> tokens.
/// </summary>
public sealed record EncodeOptions
{
    /// <summary>
    /// The longest encoding, special tokens included (HF <c>max_length</c>); null = no truncation. Must be ≥ 0 and leave room
    /// for the special tokens (3 for a pair, 2 for one text).
    /// </summary>
    public int? MaxLength { get; init; }

    /// <summary>Which text loses word pieces when an input is longer than <see cref="MaxLength"/> (HF's default: the longer one of a pair, one piece at a time).</summary>
    public TruncationStrategy Truncation { get; init; } = TruncationStrategy.LongestFirst;

    /// <summary>
    /// No padding, the longest encoding of an <see cref="BertTokenizer.EncodeBatch"/> call, or a fixed length
    /// (<see cref="PaddingLength"/>, else <see cref="MaxLength"/>); padding never truncates.
    /// </summary>
    public PaddingStrategy Padding { get; init; } = PaddingStrategy.None;

    /// <summary>Where <c>[PAD]</c> tokens go (HF's default: right).</summary>
    public Side PaddingSide { get; init; } = Side.Right;

    /// <summary>
    /// With <see cref="ReturnOverflowing"/>: word pieces each overflowing window repeats from the one before it (HF
    /// <c>stride</c>); ≥ 0 and smaller than what the truncated text keeps.
    /// </summary>
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

    /// <summary>Whether the word pieces truncation removes come back as further windows in <see cref="BertEncoding.Overflowing"/>.</summary>
    public bool ReturnOverflowing { get; init; }

    /// <summary>Whether <c>[CLS]</c> and <c>[SEP]</c> are added (HF <c>add_special_tokens</c>).</summary>
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
        // One message for the three named none of them: "(got 64, , -1)" left the caller to count commas.
        RequireNotNegative(MaxLength, "max_length");
        RequireNotNegative(PaddingLength, "padding_length");
        RequireNotNegative(Stride, "stride");
        if (PadToMultipleOf is <= 0)
        {
            throw new BertSharpException(Invariant($"pad_to_multiple_of must be positive, got {PadToMultipleOf}."));
        }
        if (Padding == PaddingStrategy.MaxLength && PaddingLength is null && MaxLength is null)
        {
            throw new BertSharpException("padding to max_length needs a max length (MaxLength or PaddingLength).");
        }
    }

    private static void RequireNotNegative(int? value, string field)
    {
        if (value is < 0)
        {
            throw new BertSharpException(Invariant($"{BertSharpException.Field(field)} {value}: expected a number ≥ 0."));
        }
    }
}
