namespace BertSharp.Inference;

/// <summary>The softmax / sigmoid / arg-max of every pipeline, evaluation and training metric (double precision, stable).</summary>
internal static class ScoreMath
{
    /// <summary>Softmax of <paramref name="logits"/> (max subtracted first).</summary>
    public static double[] Softmax(ReadOnlySpan<float> logits)
    {
        var result = new double[logits.Length];
        if (logits.Length == 0)
        {
            return result;
        }
        double max = double.NegativeInfinity;
        foreach (var l in logits)
        {
            max = Math.Max(max, l);
        }
        double sum = 0;
        for (var i = 0; i < logits.Length; i++)
        {
            result[i] = Math.Exp(logits[i] - max);
            sum += result[i];
        }
        for (var i = 0; i < result.Length; i++)
        {
            result[i] /= sum;
        }
        return result;
    }

    /// <summary>Element-wise logistic sigmoid.</summary>
    public static double[] Sigmoid(ReadOnlySpan<float> logits)
    {
        var result = new double[logits.Length];
        for (var i = 0; i < logits.Length; i++)
        {
            result[i] = 1.0 / (1.0 + Math.Exp(-logits[i]));
        }
        return result;
    }

    /// <summary>Index of the largest logit (the first on ties).</summary>
    public static int ArgMax(ReadOnlySpan<float> logits)
    {
        var best = 0;
        for (var i = 1; i < logits.Length; i++)
        {
            if (logits[i] > logits[best])
            {
                best = i;
            }
        }
        return best;
    }

    /// <summary>Index of the largest value (the first on ties).</summary>
    public static int ArgMax(ReadOnlySpan<double> values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }
        return best;
    }
}
