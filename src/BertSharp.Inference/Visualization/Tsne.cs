
namespace BertSharp.Visualization;

/// <summary>Options of <see cref="Tsne.Fit"/> (van der Maaten's reference defaults).</summary>
/// <param name="Perplexity">
/// Effective number of neighbours, at least 1; lowered to max(1, (n - 1) / 3) for n points when larger, so it always stays
/// below n (scikit-learn refuses a perplexity ≥ n instead).
/// </param>
/// <param name="Iterations">Gradient steps (at least 1).</param>
/// <param name="LearningRate">Step size (positive).</param>
/// <param name="EarlyExaggeration">P is multiplied by this (at least 1) for the first <paramref name="ExaggerationIterations"/> steps.</param>
/// <param name="ExaggerationIterations">Steps with exaggeration and momentum 0.5 (then 0.8); at least 0.</param>
/// <param name="Seed">Seed of the initial layout.</param>
public sealed record TsneOptions(double Perplexity = 30, int Iterations = 1000, double LearningRate = 200, double EarlyExaggeration = 12,
    int ExaggerationIterations = 250, int Seed = 42)
{
    /// <summary>Throws a <see cref="BertSharpException"/> naming the first option out of its range.</summary>
    internal void Validate()
    {
        // The calibrated entropy log(perplexity) is never negative (a distribution over the other points), so a perplexity
        // below 1 cannot be reached; NaN and infinities would make every coordinate NaN.
        if (!double.IsFinite(Perplexity) || Perplexity < 1)
        {
            throw new BertSharpException(Invariant($"t-SNE {BertSharpException.Field("perplexity")} {Perplexity}: expected a number of at least 1."));
        }
        if (Iterations < 1)
        {
            throw new BertSharpException(Invariant($"t-SNE iterations {Iterations}: expected at least 1."));
        }
        if (!double.IsFinite(LearningRate) || LearningRate <= 0)
        {
            throw new BertSharpException(Invariant($"t-SNE learning rate {LearningRate}: expected a positive number."));
        }
        if (!double.IsFinite(EarlyExaggeration) || EarlyExaggeration < 1)
        {
            throw new BertSharpException(Invariant($"t-SNE early exaggeration {EarlyExaggeration}: expected a number of at least 1."));
        }
        if (ExaggerationIterations < 0)
        {
            throw new BertSharpException(Invariant($"t-SNE exaggeration iterations {ExaggerationIterations}: expected at least 0."));
        }
    }
}

/// <summary>
/// Exact t-SNE (O(n²) memory and time per step): Gaussian affinities calibrated to the perplexity by binary search,
/// symmetrised; Student-t affinities in 2-D; gradient descent with momentum and per-coordinate gains.
/// </summary>
public static class Tsne
{
    /// <summary>Largest number of points accepted (the n × n matrices grow quadratically).</summary>
    public const int MaxPoints = 5000;

    /// <summary>
    /// Embeds <paramref name="points"/> ([n][dim], 2 ≤ n ≤ <see cref="MaxPoints"/>, one dimension for all) in 2-D; the same seed
    /// gives the same result.
    /// </summary>
    public static double[][] Fit(IReadOnlyList<float[]> points, TsneOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(points);
        var o = options ?? new TsneOptions();
        var n = points.Count;
        if (n < 2 || n > MaxPoints)
        {
            throw new BertSharpException(Invariant($"t-SNE takes 2 to {MaxPoints} points, got {n}."));
        }
        Points.CheckSameDimension(points, "t-SNE");
        o.Validate();
        var p = Affinities(points, Math.Min(o.Perplexity, Math.Max(1.0, (n - 1) / 3.0)));
        var rng = new Random(o.Seed);
        var y = new double[n, 2];
        for (var i = 0; i < n; i++)
        {
            for (var k = 0; k < 2; k++)
            {
                y[i, k] = 1e-4 * Gaussian(rng);
            }
        }
        var update = new double[n, 2];
        var gains = new double[n, 2];
        for (var i = 0; i < n; i++)
        {
            gains[i, 0] = gains[i, 1] = 1;
        }
        var num = new double[n, n];
        var grad = new double[n, 2];
        for (var it = 0; it < o.Iterations; it++)
        {
            var exaggeration = it < o.ExaggerationIterations ? o.EarlyExaggeration : 1.0;
            var momentum = it < o.ExaggerationIterations ? 0.5 : 0.8;
            double sum = 0;
            for (var i = 0; i < n; i++)
            {
                for (var j = i + 1; j < n; j++)
                {
                    var dx = y[i, 0] - y[j, 0];
                    var dy = y[i, 1] - y[j, 1];
                    var q = 1.0 / (1.0 + (dx * dx) + (dy * dy));
                    num[i, j] = num[j, i] = q;
                    sum += 2 * q;
                }
            }
            for (var i = 0; i < n; i++)
            {
                double gx = 0, gy = 0;
                for (var j = 0; j < n; j++)
                {
                    if (i == j)
                    {
                        continue;
                    }
                    var mult = ((exaggeration * p[i, j]) - Math.Max(num[i, j] / sum, 1e-12)) * num[i, j];
                    gx += mult * (y[i, 0] - y[j, 0]);
                    gy += mult * (y[i, 1] - y[j, 1]);
                }
                grad[i, 0] = 4 * gx;
                grad[i, 1] = 4 * gy;
            }
            double m0 = 0, m1 = 0;
            for (var i = 0; i < n; i++)
            {
                for (var k = 0; k < 2; k++)
                {
                    // Delta-bar-delta: grow the gain while the gradient keeps its sign against the last update, shrink it otherwise.
                    gains[i, k] = Math.Sign(grad[i, k]) != Math.Sign(update[i, k]) ? gains[i, k] + 0.2 : Math.Max(gains[i, k] * 0.8, 0.01);
                    update[i, k] = (momentum * update[i, k]) - (o.LearningRate * gains[i, k] * grad[i, k]);
                    y[i, k] += update[i, k];
                }
                m0 += y[i, 0] / n;
                m1 += y[i, 1] / n;
            }
            for (var i = 0; i < n; i++)
            {
                y[i, 0] -= m0;
                y[i, 1] -= m1;
            }
        }
        return [.. Enumerable.Range(0, n).Select(i => new[] { y[i, 0], y[i, 1] })];
    }

    /// <summary>Symmetric joint probabilities P (n × n, sum 1) with each row's conditional calibrated to <paramref name="perplexity"/>.</summary>
    internal static double[,] Affinities(IReadOnlyList<float[]> points, double perplexity)
    {
        var n = points.Count;
        var cond = Conditionals(points, perplexity);
        var p = new double[n, n];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++)
            {
                p[i, j] = Math.Max((cond[i, j] + cond[j, i]) / (2.0 * n), 1e-12);
            }
        }
        return p;
    }

    /// <summary>
    /// The conditionals P(j|i) (n × n, row i sums to 1, P(i|i) = 0): a Gaussian around each point whose precision is found by
    /// binary search until the row's entropy is within 1e-5 of log(<paramref name="perplexity"/>) (nats), or after 100 steps.
    /// </summary>
    internal static double[,] Conditionals(IReadOnlyList<float[]> points, double perplexity)
    {
        var n = points.Count;
        var d2 = new double[n, n];
        for (var i = 0; i < n; i++)
        {
            for (var j = i + 1; j < n; j++)
            {
                double s = 0;
                var a = points[i];
                var b = points[j];
                for (var k = 0; k < a.Length; k++)
                {
                    var diff = (double)a[k] - b[k];
                    s += diff * diff;
                }
                d2[i, j] = d2[j, i] = s;
            }
        }
        var targetEntropy = Math.Log(perplexity);
        var cond = new double[n, n];
        var row = new double[n];
        for (var i = 0; i < n; i++)
        {
            double beta = 1, lo = double.NegativeInfinity, hi = double.PositiveInfinity;
            var minD = double.PositiveInfinity;
            for (var j = 0; j < n; j++)
            {
                if (j != i)
                {
                    minD = Math.Min(minD, d2[i, j]);
                }
            }
            for (var step = 0; step < 100; step++)
            {
                double sum = 0, weighted = 0;
                for (var j = 0; j < n; j++)
                {
                    // Distances shifted by the nearest one: exp does not underflow, and P is unchanged.
                    row[j] = j == i ? 0 : Math.Exp(-beta * (d2[i, j] - minD));
                    sum += row[j];
                    weighted += row[j] * (d2[i, j] - minD);
                }
                var entropy = Math.Log(sum) + (beta * weighted / sum);
                for (var j = 0; j < n; j++)
                {
                    row[j] /= sum;
                }
                var diff = entropy - targetEntropy;
                if (Math.Abs(diff) < 1e-5)
                {
                    break;
                }
                if (diff > 0)
                {
                    lo = beta;
                    beta = double.IsPositiveInfinity(hi) ? beta * 2 : (beta + hi) / 2;
                }
                else
                {
                    hi = beta;
                    beta = double.IsNegativeInfinity(lo) ? beta / 2 : (beta + lo) / 2;
                }
            }
            for (var j = 0; j < n; j++)
            {
                cond[i, j] = row[j];
            }
        }
        return cond;
    }

    private static double Gaussian(Random rng)
    {
        var u1 = 1.0 - rng.NextDouble();
        var u2 = rng.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
