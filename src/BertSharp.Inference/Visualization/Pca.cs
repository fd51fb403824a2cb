
namespace BertSharp.Visualization;

/// <summary>Result of <see cref="Pca.Fit"/>.</summary>
/// <param name="Projection">[n][components] coordinates of each (centred) point on the components.</param>
/// <param name="Components">[components][dim] unit principal directions, largest variance first.</param>
/// <param name="ExplainedVariance">Variance along each component (divided by n - 1).</param>
/// <param name="ExplainedVarianceRatio">Each component's share of the total variance.</param>
public sealed record PcaResult(double[][] Projection, double[][] Components, double[] ExplainedVariance, double[] ExplainedVarianceRatio);

/// <summary>
/// Principal component analysis by power iteration on the centred data (v ← Xᵀ X v, never forming the covariance), with
/// Gram–Schmidt against earlier components. A component beyond the data's rank (two points have one direction) has variance
/// 0 and puts every point at 0. Deterministic: a fixed start vector, and each component's sign chosen so its
/// largest-magnitude entry is positive.
/// </summary>
public static class Pca
{
    // A component whose variance is below this share of the total is taken as none: rounding noise in double precision is
    // about 1e-16 of it.
    private const double NoVariance = 1e-12;

    /// <summary>
    /// Projects <paramref name="points"/> ([n][dim], n ≥ 2, one dimension for all) onto their first <paramref name="components"/>
    /// (1 to dim) principal directions.
    /// </summary>
    public static PcaResult Fit(IReadOnlyList<float[]> points, int components = 2, int maxIterations = 1000, double tolerance = 1e-12)
    {
        ArgumentNullException.ThrowIfNull(points);
        if (points.Count < 2)
        {
            throw new BertSharpException(Invariant($"PCA needs at least 2 points, got {points.Count}."));
        }
        var dim = Points.CheckSameDimension(points, "PCA");
        if (components < 1 || components > dim)
        {
            throw new BertSharpException(Invariant($"PCA components {components}: expected 1 to {dim} (the points' dimension)."));
        }
        if (maxIterations < 1)
        {
            throw new BertSharpException(Invariant($"PCA max iterations {maxIterations}: expected at least 1."));
        }
        if (!(tolerance >= 0) || double.IsPositiveInfinity(tolerance))
        {
            throw new BertSharpException(Invariant($"PCA tolerance {tolerance}: expected a finite number of at least 0."));
        }
        var k = components;
        var n = points.Count;
        var mean = new double[dim];
        foreach (var p in points)
        {
            for (var d = 0; d < dim; d++)
            {
                mean[d] += p[d] / (double)n;
            }
        }
        var x = points.Select(p => p.Select((v, d) => v - mean[d]).ToArray()).ToArray();
        var total = x.Sum(r => r.Sum(v => v * v)) / (n - 1);
        var comps = new double[k][];
        var variance = new double[k];
        var none = new bool[k];
        for (var c = 0; c < k; c++)
        {
            // A start vector that is not orthogonal to any direction in general; the same every run.
            var v = Enumerable.Range(0, dim).Select(d => 1.0 + (0.5 * Math.Sin(d + 1.0 + c))).ToArray();
            if (Orthonormalize(v, comps, c) == 0)
            {
                v = OrthogonalUnit(comps, c, dim);
            }
            var exhausted = false;
            for (var it = 0; it < maxIterations; it++)
            {
                var w = CovTimes(x, v, n);
                // Outside the earlier components the data has no variance left (fewer independent points than components):
                // what remains of w is rounding noise, and following it would drift back towards the earlier components.
                if (Orthonormalize(w, comps, c) <= NoVariance * total)
                {
                    v = OrthogonalUnit(comps, c, dim);
                    exhausted = true;
                    break;
                }
                var delta = 0.0;
                for (var d = 0; d < dim; d++)
                {
                    delta = Math.Max(delta, Math.Abs(w[d] - v[d]));
                }
                v = w;
                if (delta < tolerance)
                {
                    break;
                }
            }
            var lambda = exhausted ? 0 : Dot(v, CovTimes(x, v, n));
            var largest = v.MaxBy(Math.Abs);
            if (largest < 0)
            {
                for (var d = 0; d < dim; d++)
                {
                    v[d] = -v[d];
                }
            }
            comps[c] = v;
            variance[c] = Math.Max(lambda, 0);
            none[c] = exhausted;
        }
        // On a component without variance every point is at 0; the products with it are rounding noise, which a plot would
        // stretch over its whole axis.
        var projection = x.Select(r => comps.Select((cv, c) => none[c] ? 0 : Dot(r, cv)).ToArray()).ToArray();
        var ratio = variance.Select(v => total > 0 ? v / total : 0).ToArray();
        return new PcaResult(projection, comps, variance, ratio);
    }

    private static double[] CovTimes(double[][] x, double[] v, int n)
    {
        var result = new double[v.Length];
        foreach (var row in x)
        {
            var s = Dot(row, v);
            for (var d = 0; d < v.Length; d++)
            {
                result[d] += s * row[d];
            }
        }
        for (var d = 0; d < v.Length; d++)
        {
            result[d] /= n - 1;
        }
        return result;
    }

    /// <summary>
    /// Removes from <paramref name="v"/> its parts along the first <paramref name="count"/> components, twice (one pass leaves
    /// parts of the order of rounding times the removed length, large next to a small remainder), and scales it to unit
    /// length; returns the length it had before scaling (0: nothing was left, and <paramref name="v"/> is unchanged).
    /// </summary>
    private static double Orthonormalize(double[] v, double[][] previous, int count)
    {
        for (var pass = 0; pass < 2; pass++)
        {
            for (var c = 0; c < count; c++)
            {
                var dot = Dot(v, previous[c]);
                for (var d = 0; d < v.Length; d++)
                {
                    v[d] -= dot * previous[c][d];
                }
            }
        }
        var norm = Math.Sqrt(Dot(v, v));
        if (norm < 1e-300)
        {
            return 0;
        }
        for (var d = 0; d < v.Length; d++)
        {
            v[d] /= norm;
        }
        return norm;
    }

    /// <summary>A unit vector orthogonal to the first <paramref name="count"/> components (the axis that keeps most of its length), for a component without variance.</summary>
    private static double[] OrthogonalUnit(double[][] previous, int count, int dim)
    {
        double[]? best = null;
        var bestNorm = -1.0;
        for (var axis = 0; axis < dim; axis++)
        {
            var e = new double[dim];
            e[axis] = 1;
            var norm = Orthonormalize(e, previous, count);
            if (norm > bestNorm + 1e-9)
            {
                (best, bestNorm) = (e, norm);
            }
        }
        return best!;
    }

    private static double Dot(double[] a, double[] b)
    {
        double s = 0;
        for (var i = 0; i < a.Length; i++)
        {
            s += a[i] * b[i];
        }
        return s;
    }
}
