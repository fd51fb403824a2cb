namespace BertSharp.Inference;

/// <summary>A candidate answer span in one window, by token positions.</summary>
/// <param name="StartToken">First token of the answer.</param>
/// <param name="EndToken">Last token of the answer (inclusive).</param>
/// <param name="Score">P(start) × P(end) with HF's masking.</param>
internal readonly record struct SpanCandidate(int StartToken, int EndToken, double Score);

/// <summary>HF <c>QuestionAnsweringPipeline</c> span scoring on one window's logits.</summary>
internal static class AnswerDecoding
{
    /// <summary>
    /// Start and end probabilities as HF computes them: logits of tokens that cannot be in an answer (question, [SEP], padding)
    /// are set to -10000 before the softmax; [CLS] takes part in the softmax, and its probability is returned separately
    /// (the "no answer" score is <c>P(start=CLS) × P(end=CLS)</c>) and then zeroed.
    /// </summary>
    /// <param name="startLogits">[seq] start logits.</param>
    /// <param name="endLogits">[seq] end logits.</param>
    /// <param name="allowed">[seq] whether a token may be part of an answer (context tokens).</param>
    /// <param name="clsIndex">Position of [CLS] (kept in the softmax), or -1.</param>
    public static (double[] Start, double[] End, double NullScore) Probabilities(float[] startLogits, float[] endLogits, bool[] allowed, int clsIndex)
    {
        ArgumentNullException.ThrowIfNull(startLogits);
        ArgumentNullException.ThrowIfNull(endLogits);
        ArgumentNullException.ThrowIfNull(allowed);
        float[] Mask(float[] l) => [.. l.Select((v, i) => allowed[i] || i == clsIndex ? v : -10000f)];
        var start = ScoreMath.Softmax(Mask(startLogits));
        var end = ScoreMath.Softmax(Mask(endLogits));
        var nullScore = 0.0;
        if (clsIndex >= 0)
        {
            nullScore = start[clsIndex] * end[clsIndex];
            start[clsIndex] = 0;
            end[clsIndex] = 0;
        }
        return (start, end, nullScore);
    }

    /// <summary>
    /// The <paramref name="topK"/> best spans with start ≤ end, at most <paramref name="maxAnswerLength"/> tokens, both ends
    /// allowed, by descending score (HF <c>decode_spans</c>).
    /// </summary>
    public static List<SpanCandidate> BestSpans(double[] start, double[] end, bool[] allowed, int topK, int maxAnswerLength)
    {
        ArgumentNullException.ThrowIfNull(start);
        ArgumentNullException.ThrowIfNull(end);
        ArgumentNullException.ThrowIfNull(allowed);
        var best = new List<SpanCandidate>();
        for (var s = 0; s < start.Length; s++)
        {
            if (!allowed[s])
            {
                continue;
            }
            // In long: s + int.MaxValue overflowed to a negative last token, and no span was found at all.
            var last = (int)Math.Min(end.Length - 1, (long)s + maxAnswerLength - 1);
            for (var e = s; e <= last; e++)
            {
                if (!allowed[e])
                {
                    continue;
                }
                var score = start[s] * end[e];
                if (best.Count < topK || score > best[^1].Score)
                {
                    var at = best.FindIndex(c => c.Score < score);
                    best.Insert(at < 0 ? best.Count : at, new SpanCandidate(s, e, score));
                    if (best.Count > topK)
                    {
                        best.RemoveAt(best.Count - 1);
                    }
                }
            }
        }
        return best;
    }
}
