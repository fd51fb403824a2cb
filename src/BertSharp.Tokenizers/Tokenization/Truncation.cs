
namespace BertSharp.Tokenization;

/// <summary>HF's <c>truncate_encodings</c> and <c>Encoding::truncate</c> (right side), on token counts.</summary>
internal static class Truncation
{
    /// <summary>
    /// Target lengths of the two sequences so that together they fit <paramref name="maxLength"/> (special tokens
    /// already subtracted). Throws <see cref="BertSharpException"/> where HF raises a truncation error.
    /// </summary>
    public static (int A, int B) TargetLengths(int nA, int nB, bool isPair, int maxLength, TruncationStrategy strategy)
    {
        if (maxLength == 0 && strategy != TruncationStrategy.None)
        {
            return (0, 0);
        }
        var total = nA + nB;
        if (strategy == TruncationStrategy.None || total <= maxLength)
        {
            return (nA, nB);
        }
        var toRemove = total - maxLength;
        switch (strategy)
        {
            case TruncationStrategy.LongestFirst when isPair:
            {
                int n1 = nA, n2 = nB;
                var swap = n1 > n2;
                if (swap)
                {
                    (n1, n2) = (n2, n1);
                }
                n2 = n1 > maxLength ? n1 : Math.Max(n1, maxLength - n1);
                if (n1 + n2 > maxLength)
                {
                    n1 = maxLength / 2;
                    n2 = n1 + maxLength % 2;
                }
                if (swap)
                {
                    (n1, n2) = (n2, n1);
                }
                return (Math.Min(n1, nA), Math.Min(n2, nB));
            }
            case TruncationStrategy.LongestFirst:
                return (nA - toRemove, nB);
            case TruncationStrategy.OnlyFirst:
                if (nA <= toRemove)
                {
                    throw new BertSharpException(
                        Invariant($"{BertSharpException.Field("truncation")} only_first: the first text has {nA} tokens, too few to remove the {toRemove} needed to fit {BertSharpException.Field("max_length")}; use longest_first."));
                }
                return (nA - toRemove, nB);
            case TruncationStrategy.OnlySecond:
                if (!isPair)
                {
                    throw new BertSharpException($"{BertSharpException.Field("truncation")} only_second needs a text pair, but only one text was given.");
                }
                if (nB <= toRemove)
                {
                    throw new BertSharpException(
                        Invariant($"{BertSharpException.Field("truncation")} only_second: the second text has {nB} tokens, too few to remove the {toRemove} needed to fit {BertSharpException.Field("max_length")}; use longest_first."));
                }
                return (nA, nB - toRemove);
            default:
                return (nA, nB);
        }
    }

    /// <summary>
    /// The windows [start, end) a sequence of <paramref name="n"/> tokens is cut into when truncated to
    /// <paramref name="target"/> with <paramref name="stride"/> tokens of overlap; the first is the kept part. Truncating
    /// <paramref name="fromEnd"/> (<see cref="TruncationSide.Tail"/>) keeps the last tokens, and the windows step back towards
    /// the start (HF's <c>Encoding::truncate</c> with <c>TruncationDirection::Left</c>).
    /// </summary>
    public static List<(int Start, int End)> Windows(int n, int target, int stride, bool fromEnd = false)
    {
        if (target >= n)
        {
            return [(0, n)];
        }
        if (target == 0)
        {
            return [(0, 0), (0, n)];
        }
        if (stride >= target)
        {
            throw new BertSharpException(
                Invariant($"{BertSharpException.Field("stride")} {stride} must be smaller than the {target} tokens left for the text after truncation ({BertSharpException.Field("max_length")} minus special tokens and the other text)."));
        }
        var windows = new List<(int, int)>();
        var step = target - stride;
        if (fromEnd)
        {
            for (var stop = n; ; stop -= step)
            {
                var start = Math.Max(0, stop - target);
                windows.Add((start, stop));
                if (start == 0 || stop - step <= 0)
                {
                    break;
                }
            }
            return windows;
        }
        for (var start = 0; ; start += step)
        {
            var stop = Math.Min(start + target, n);
            windows.Add((start, stop));
            if (stop == n)
            {
                break;
            }
        }
        return windows;
    }
}
