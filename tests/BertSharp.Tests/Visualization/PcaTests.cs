using BertSharp.Visualization;

namespace BertSharp.Tests.Visualization;

public sealed class PcaTests
{
    // Points (2,2), (-2,-2), (1,-1), (-1,1): mean 0, scatter matrix [[10,6],[6,10]], covariance /3. Eigenvalues of the
    // scatter: 16 along (1,1)/√2 and 4 along (1,-1)/√2, i.e. variances 16/3 and 4/3, ratios 0.8 and 0.2. Projections on
    // PC1: ±2√2, 0, 0; on PC2: 0, 0, ±√2 (signs fixed by the largest-entry-positive rule).
    [Fact]
    public void Hand_computed_two_dimensional_example()
    {
        float[][] points = [[2, 2], [-2, -2], [1, -1], [-1, 1]];
        var r = Pca.Fit(points);
        var s = Math.Sqrt(0.5);
        Assert.Equal(16.0 / 3, r.ExplainedVariance[0], 9);
        Assert.Equal(4.0 / 3, r.ExplainedVariance[1], 9);
        Assert.Equal(0.8, r.ExplainedVarianceRatio[0], 9);
        Assert.Equal(0.2, r.ExplainedVarianceRatio[1], 9);
        Assert.Equal(s, r.Components[0][0], 9);
        Assert.Equal(s, r.Components[0][1], 9);
        // PC2 = ±(1,-1)/√2; both entries have magnitude √½, the first is taken as the largest → positive.
        Assert.Equal(s, r.Components[1][0], 9);
        Assert.Equal(-s, r.Components[1][1], 9);
        double[][] expected = [[2 * Math.Sqrt(2), 0], [-2 * Math.Sqrt(2), 0], [0, Math.Sqrt(2)], [0, -Math.Sqrt(2)]];
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(expected[i][0], r.Projection[i][0], 9);
            Assert.Equal(expected[i][1], r.Projection[i][1], 9);
        }
    }

    // A 3-D cloud with a shifted mean whose spread lies along known orthogonal axes with variances 9, 4 and 1: PCA must
    // recover the axes (up to sign) and the ratios 9/14 and 4/14.
    [Fact]
    public void Recovers_known_axes_of_a_shifted_cloud()
    {
        double[] u = [2 / 3.0, 2 / 3.0, 1 / 3.0], v = [-2 / 3.0, 1 / 3.0, 2 / 3.0], w = [1 / 3.0, -2 / 3.0, 2 / 3.0];
        // ±3 along u, ±2 along v, ±1 along w (8 corners of a box, each coordinate's variance = a² · 8/7).
        var points = new List<float[]>();
        foreach (var a in new[] { -3.0, 3.0 })
        {
            foreach (var b in new[] { -2.0, 2.0 })
            {
                foreach (var c in new[] { -1.0, 1.0 })
                {
                    points.Add([.. Enumerable.Range(0, 3).Select(d => (float)(10 + (a * u[d]) + (b * v[d]) + (c * w[d])))]);
                }
            }
        }
        var r = Pca.Fit(points, components: 3);
        Assert.Equal(9.0 / 14, r.ExplainedVarianceRatio[0], 5);
        Assert.Equal(4.0 / 14, r.ExplainedVarianceRatio[1], 5);
        Assert.Equal(1.0, Math.Abs(u.Zip(r.Components[0], (x, y) => x * y).Sum()), 5);
        Assert.Equal(1.0, Math.Abs(v.Zip(r.Components[1], (x, y) => x * y).Sum()), 5);
    }

    // Two points span one direction: all the variance is on PC1 (each centred point is ±d/2 for d = a − b, variance |d|²/2),
    // and PC2, orthogonal to it, has none. Power iteration orthogonalised only once followed rounding noise back towards PC1:
    // 'bert embed --plot' of two texts labelled PC2 with 95.3 % of the variance and spread the points along it.
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Components_beyond_the_data_rank_have_no_variance(int components)
    {
        float[][] points = [[0.3f, -1.2f, 2.5f, 0.7f, -0.4f, 1.9f], [-0.8f, 0.6f, 1.1f, -1.3f, 2.2f, 0.4f]];
        var d = points[0].Zip(points[1], (a, b) => (double)a - b).ToArray();
        var length = Math.Sqrt(d.Sum(v => v * v));
        var r = Pca.Fit(points, components);
        Assert.Equal(length * length / 2, r.ExplainedVariance[0], 9);
        Assert.Equal(1.0, r.ExplainedVarianceRatio[0], 12);
        Assert.Equal(length / 2, Math.Abs(r.Projection[0][0]), 9);
        Assert.Equal(-r.Projection[0][0], r.Projection[1][0], 9);
        for (var c = 1; c < components; c++)
        {
            // Exactly 0: rounding noise here would be stretched over the whole axis of the plot.
            Assert.Equal(0.0, r.ExplainedVariance[c]);
            Assert.Equal(0.0, r.ExplainedVarianceRatio[c]);
            Assert.Equal(0.0, r.Projection[0][c]);
            Assert.Equal(0.0, r.Projection[1][c]);
        }
        // The components stay orthonormal, the padding ones included.
        for (var a = 0; a < components; a++)
        {
            for (var b = 0; b < components; b++)
            {
                Assert.Equal(a == b ? 1.0 : 0.0, r.Components[a].Zip(r.Components[b], (x, y) => x * y).Sum(), 9);
            }
        }
    }

    // Zero components used to return empty projections and five on 2-D points silently returned two.
    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(3)]
    public void Components_outside_one_to_the_dimension_are_refused(int components)
    {
        float[][] points = [[2, 2], [-2, -2], [1, -1], [-1, 1]];
        var e = Assert.Throws<BertSharpException>(() => Pca.Fit(points, components));
        Assert.Equal($"PCA components {components}: expected 1 to 2 (the points' dimension).", e.Message);
    }

    [Fact]
    public void Bad_points_and_iteration_settings_are_refused()
    {
        float[][] ragged = [[1, 2, 3], [1, 2, 3], [1, 2]];
        Assert.Equal("PCA: point 2 has 2 coordinate(s), point 0 has 3; every point must have the same dimension.",
            Assert.Throws<BertSharpException>(() => Pca.Fit(ragged)).Message);
        float[][] empty = [[], []];
        Assert.Equal("PCA: point 0 has no coordinates; expected at least 1.", Assert.Throws<BertSharpException>(() => Pca.Fit(empty, 1)).Message);
        float[][] points = [[2, 2], [-2, -2], [1, -1], [-1, 1]];
        Assert.Equal("PCA max iterations 0: expected at least 1.", Assert.Throws<BertSharpException>(() => Pca.Fit(points, maxIterations: 0)).Message);
        Assert.Equal("PCA tolerance NaN: expected a finite number of at least 0.",
            Assert.Throws<BertSharpException>(() => Pca.Fit(points, tolerance: double.NaN)).Message);
        // One component: one coordinate per point, the projection on (1, 1)/√2 (±2√2 for (±2, ±2), 0 for the others).
        var single = Pca.Fit(points, components: 1).Projection;
        double[] expected = [2 * Math.Sqrt(2), -2 * Math.Sqrt(2), 0, 0];
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(expected[i], Assert.Single(single[i]), 9);
        }
    }
}
