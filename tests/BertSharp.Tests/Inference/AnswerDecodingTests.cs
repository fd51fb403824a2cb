using BertSharp.Inference;

namespace BertSharp.Tests.Inference;

public sealed class AnswerDecodingTests
{
    // Tokens: [CLS], a question token, two context tokens. Start and end logits both (2, 5, 0, 1): the question token is masked
    // to -10000, so each softmax is (e², 0, 1, e) / (e² + 1 + e). The null score is P(CLS)², then CLS is zeroed; spans are
    // scored p[s]·p[e] with s ≤ e < s + max_answer_length over context tokens only.
    [Fact]
    public void Hand_computed_probabilities_null_score_and_span_order()
    {
        float[] logits = [2, 5, 0, 1];
        bool[] allowed = [false, false, true, true];
        var (start, end, nullScore) = AnswerDecoding.Probabilities(logits, logits, allowed, clsIndex: 0);
        var z = Math.Exp(2) + 1 + Math.E;
        Assert.Equal(Math.Exp(2) / z * (Math.Exp(2) / z), nullScore, 6);
        Assert.Equal([0, 0, Math.Round(1 / z, 6), Math.Round(Math.E / z, 6)], start.Select(p => Math.Round(p, 6)));
        Assert.Equal(start, end);

        var spans = AnswerDecoding.BestSpans(start, end, allowed, topK: 5, maxAnswerLength: 15);
        Assert.Equal([(3, 3), (2, 3), (2, 2)], spans.Select(s => (s.StartToken, s.EndToken)));
        Assert.Equal(Math.E / z * (Math.E / z), spans[0].Score, 6);
        Assert.Equal(1 / z * (Math.E / z), spans[1].Score, 6);

        var short1 = AnswerDecoding.BestSpans(start, end, allowed, topK: 5, maxAnswerLength: 1);
        Assert.Equal([(3, 3), (2, 2)], short1.Select(s => (s.StartToken, s.EndToken)));

        // Any length is "no limit" here (bert qa --max-answer-length 2147483647 printed no answer, exit 0).
        var unlimited = AnswerDecoding.BestSpans(start, end, allowed, topK: 5, maxAnswerLength: int.MaxValue);
        Assert.Equal(spans, unlimited);
    }
}
