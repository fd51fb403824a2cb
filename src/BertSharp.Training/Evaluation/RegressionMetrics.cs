
namespace BertSharp.Evaluation;

/// <summary>Correlation and error metrics for regression (STS-B style) outputs.</summary>
public static class RegressionMetrics
{
    /// <summary>
    /// Pearson's r; NaN when either vector is constant (scipy returns NaN with a <c>ConstantInputWarning</c>) and for a single
    /// pair, which is constant too (scipy raises for fewer than two pairs; a one-example validation set scores n/a here).
    /// </summary>
    /// <exception cref="ArgumentNullException">A vector is null.</exception>
    /// <exception cref="ArgumentException">The vectors differ in length, or are empty.</exception>
    public static double Pearson(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (x.Count != y.Count)
        {
            throw new ArgumentException(Invariant($"expected as many values in y as in x: x has {x.Count} values, y {y.Count}."), nameof(y));
        }
        ClassificationMetrics.RequirePredictions(y.Count, nameof(y));
        var n = x.Count;
        // scipy tests constancy on the values, not on the deviations: the mean of a constant such as 0.1 is not always the
        // constant in floating point, and its deviations would turn rounding noise into an r.
        if (n < 2 || x.All(v => v == x[0]) || y.All(v => v == y[0]))
        {
            return double.NaN;
        }
        // scipy gives two points ±1 exactly; the formula can miss it by rounding (0.9999999999999998 for x [0.8, 0.7], y [0.67, 0.31]).
        if (n == 2 && !x.Concat(y).Any(double.IsNaN))
        {
            return Math.Sign(x[1] - x[0]) * Math.Sign(y[1] - y[0]);
        }
        double mx = x.Average(), my = y.Average(), sxy = 0, sxx = 0, syy = 0;
        for (var i = 0; i < n; i++)
        {
            var dx = x[i] - mx;
            var dy = y[i] - my;
            sxy += dx * dy;
            sxx += dx * dx;
            syy += dy * dy;
        }
        // Rounding can take r of (nearly) collinear data just past ±1; scipy clips it, so a perfect fit reads 1, not 1.0000000000000002.
        return sxx == 0 || syy == 0 ? double.NaN : Math.Clamp(sxy / Math.Sqrt(sxx * syy), -1, 1);
    }

    /// <summary>
    /// Spearman's ρ: Pearson's r of the ranks, tied values getting the average of their ranks; NaN when a value is NaN
    /// (scipy's <c>nan_policy='propagate'</c>), and, as <see cref="Pearson"/>, when either vector is constant or for a single pair.
    /// </summary>
    /// <exception cref="ArgumentNullException">A vector is null.</exception>
    /// <exception cref="ArgumentException">The vectors differ in length, or are empty.</exception>
    public static double Spearman(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        return Pearson(Ranks(x), Ranks(y));
    }

    /// <summary>1-based ranks with ties averaged (scipy <c>rankdata(method='average')</c>); all NaN when a value is NaN, as scipy's default <c>nan_policy='propagate'</c>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="values"/> is null.</exception>
    public static double[] Ranks(IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        // NaN compares below every number here and unequal to itself, so each NaN got a rank of its own and a model whose
        // predictions went NaN still scored a finite Spearman.
        if (values.Any(double.IsNaN))
        {
            return [.. Enumerable.Repeat(double.NaN, values.Count)];
        }
        var order = Enumerable.Range(0, values.Count).OrderBy(i => values[i]).ToArray();
        var ranks = new double[values.Count];
        var start = 0;
        while (start < order.Length)
        {
            var end = start;
            while (end + 1 < order.Length && values[order[end + 1]] == values[order[start]])
            {
                end++;
            }
            var avg = ((start + end) / 2.0) + 1;
            for (var k = start; k <= end; k++)
            {
                ranks[order[k]] = avg;
            }
            start = end + 1;
        }
        return ranks;
    }

    /// <summary>Mean squared error.</summary>
    /// <exception cref="ArgumentNullException">A vector is null.</exception>
    /// <exception cref="ArgumentException">The vectors differ in length, or are empty.</exception>
    public static double MeanSquaredError(IReadOnlyList<double> truth, IReadOnlyList<double> predicted)
    {
        ClassificationMetrics.CheckSameLength(truth, predicted);
        ClassificationMetrics.RequirePredictions(predicted.Count, nameof(predicted));
        return truth.Zip(predicted, (t, p) => (t - p) * (t - p)).Average();
    }
}
