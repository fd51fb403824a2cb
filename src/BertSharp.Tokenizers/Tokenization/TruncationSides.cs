
namespace BertSharp.Tokenization;

/// <summary>The tokens of one text that an encoding keeps: [Start, End), then [TailStart, TailEnd) for head+tail.</summary>
/// <param name="Start">First kept token of the (first) kept run.</param>
/// <param name="End">One past its last token.</param>
/// <param name="TailStart">First token of the second run (head+tail), else equal to <paramref name="TailEnd"/>.</param>
/// <param name="TailEnd">One past the second run's last token.</param>
internal readonly record struct KeptTokens(int Start, int End, int TailStart = 0, int TailEnd = 0)
{
    public static KeptTokens Window((int Start, int End) w) => new(w.Start, w.End);
}

/// <summary>Names, defaults and token selection of <see cref="TruncationSide"/>.</summary>
public static class TruncationSides
{
    /// <summary>The names accepted by <see cref="Parse"/> (as CLI flags and in training_args.json spell them).</summary>
    public static IReadOnlyList<string> Names { get; } = ["head", "tail", "head+tail"];

    /// <summary>
    /// Sun et al.'s split for <see cref="TruncationSide.HeadAndTail"/> in proportion: of <paramref name="keep"/> tokens, the
    /// first round(keep · 128 / 510) (half away from zero): 128 of 510 (max length 512), 64 of 254 (max length 256).
    /// </summary>
    /// <param name="keep">Tokens of the text that the encoding keeps.</param>
    public static int DefaultHeadTokens(int keep) => (int)Math.Round(keep * 128.0 / 510, MidpointRounding.AwayFromZero);

    /// <summary>
    /// Parses head, tail or head+tail (also HF's right = head and left = tail); a one-line error naming <paramref name="what"/>
    /// (by default the field <c>truncation_side</c>).
    /// </summary>
    public static TruncationSide Parse(string value, string? what = null)
    {
        ArgumentNullException.ThrowIfNull(value);
        what ??= BertSharpException.Field("truncation_side");
        return value.Trim().ToLowerInvariant() switch
        {
            "head" or "right" => TruncationSide.Head,
            "tail" or "left" => TruncationSide.Tail,
            "head+tail" or "head_tail" or "headtail" => TruncationSide.HeadAndTail,
            _ => throw new BertSharpException($"{what} '{value}': expected head, tail or head+tail."),
        };
    }

    /// <summary>head, tail or head+tail.</summary>
    public static string Name(TruncationSide side) => side switch
    {
        TruncationSide.Tail => "tail",
        TruncationSide.HeadAndTail => "head+tail",
        _ => "head",
    };

    /// <summary>
    /// Describes the choice for a plan line, e.g. "head+tail (a longer text keeps its first 64 and last 190 word pieces)".
    /// </summary>
    /// <param name="side">The side.</param>
    /// <param name="headTokens">Explicit head tokens, or null for the default.</param>
    /// <param name="maxLength">The maximum length, special tokens included.</param>
    /// <param name="pair">Inputs are text pairs ([CLS] A [SEP] B [SEP]; the longer text is cut first).</param>
    public static string Describe(TruncationSide side, int? headTokens, int maxLength, bool pair = false) =>
        $"{Name(side)} ({Explain(side, headTokens, maxLength, pair)})";

    /// <summary>
    /// What <see cref="Describe"/> says in brackets, without the side's name: for callers whose users cannot choose the side,
    /// to whom "head" would read as a value they could change.
    /// </summary>
    internal static string Explain(TruncationSide side, int? headTokens, int maxLength, bool pair = false)
    {
        if (pair)
        {
            var kept = side switch
            {
                TruncationSide.Tail => "its end",
                TruncationSide.HeadAndTail => headTokens is { } h ? Invariant($"its first {h} and its last word pieces") : "its start (128/510 of what it keeps) and its end",
                _ => "its start",
            };
            return $"a text of a pair that is cut keeps {kept}; the longer text is cut first";
        }
        var keep = Math.Max(0, maxLength - 2);
        return side switch
        {
            TruncationSide.Tail => Invariant($"a longer text keeps its last {keep} word pieces"),
            TruncationSide.HeadAndTail => Invariant($"a longer text keeps its first {HeadOf(keep, headTokens)} and last {keep - HeadOf(keep, headTokens)} word pieces"),
            _ => Invariant($"a longer text keeps its first {keep} word pieces"),
        };
    }

    /// <summary>The head tokens kept of <paramref name="keep"/>: <paramref name="headTokens"/> (at most <paramref name="keep"/>) or the default.</summary>
    public static int HeadOf(int keep, int? headTokens) => Math.Min(keep, headTokens ?? DefaultHeadTokens(keep));

    /// <summary>Which of <paramref name="n"/> tokens stay when a head+tail cut text keeps <paramref name="keep"/> of them.</summary>
    internal static KeptTokens HeadAndTail(int n, int keep, int? headTokens)
    {
        if (keep >= n)
        {
            return new KeptTokens(0, n);
        }
        var head = HeadOf(keep, headTokens);
        return new KeptTokens(0, head, n - (keep - head), n);
    }
}
