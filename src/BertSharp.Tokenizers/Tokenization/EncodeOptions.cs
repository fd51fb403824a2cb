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

/// <summary>Which end of the sequence padding goes to, or truncation removes tokens from.</summary>
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
    /// Which end truncation removes tokens from (HF <c>truncation_side</c>): <see cref="Side.Right"/> keeps the beginning,
    /// <see cref="Side.Left"/> the end; overflowing windows then step towards the start.
    /// </summary>
    public Side TruncationSide { get; init; } = Side.Right;

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
        if (MaxLength is < 0 || PaddingLength is < 0 || Stride < 0)
        {
            throw new BertSharpException($"max_length, padding length and stride must be ≥ 0 (got {MaxLength}, {PaddingLength}, {Stride}).");
        }
        if (PadToMultipleOf is <= 0)
        {
            throw new BertSharpException($"pad_to_multiple_of must be positive, got {PadToMultipleOf}.");
        }
        if (Padding == PaddingStrategy.MaxLength && PaddingLength is null && MaxLength is null)
        {
            throw new BertSharpException("padding to max_length needs a max length (MaxLength or PaddingLength).");
        }
    }
}
