using BertSharp.Visualization;

namespace BertSharp.Tests.Visualization;

public sealed class TsneTests
{
    // Three Gaussian clusters in 10-D (σ = 1) whose centres are 20 apart: every point's nearest neighbour in the 2-D map must
    // belong to its own cluster, and each cluster's spread must be small next to the distance between cluster centres.
    [Fact]
    public void Well_separated_clusters_stay_separated()
    {
        var rng = new Random(7);
        var points = new List<float[]>();
        var labels = new List<int>();
        for (var c = 0; c < 3; c++)
        {
            for (var i = 0; i < 20; i++)
            {
                points.Add([.. Enumerable.Range(0, 10).Select(d => (float)((d == c ? 20 : 0) + Normal(rng)))]);
                labels.Add(c);
            }
        }
        var y = Tsne.Fit(points, new TsneOptions(Perplexity: 10, Iterations: 500, Seed: 3));
        double Dist(int a, int b) => Math.Sqrt(Math.Pow(y[a][0] - y[b][0], 2) + Math.Pow(y[a][1] - y[b][1], 2));
        for (var i = 0; i < y.Length; i++)
        {
            var nearest = Enumerable.Range(0, y.Length).Where(j => j != i).MinBy(j => Dist(i, j));
            Assert.Equal(labels[i], labels[nearest]);
        }
        var centres = Enumerable.Range(0, 3).Select(c => Centre(y, labels, c)).ToArray();
        var maxSpread = Enumerable.Range(0, y.Length).Max(i => Math.Sqrt(Math.Pow(y[i][0] - centres[labels[i]][0], 2) + Math.Pow(y[i][1] - centres[labels[i]][1], 2)));
        var minGap = new[] { (0, 1), (0, 2), (1, 2) }.Min(p => Math.Sqrt(Math.Pow(centres[p.Item1][0] - centres[p.Item2][0], 2) + Math.Pow(centres[p.Item1][1] - centres[p.Item2][1], 2)));
        Assert.True(minGap > 2 * maxSpread, $"closest clusters {minGap:F2} apart, widest cluster radius {maxSpread:F2}");
    }

    [Fact]
    public void Same_seed_gives_the_same_map_and_another_seed_a_different_one()
    {
        var rng = new Random(1);
        var points = Enumerable.Range(0, 15).Select(_ => Enumerable.Range(0, 4).Select(_ => (float)Normal(rng)).ToArray()).ToList();
        var a = Tsne.Fit(points, new TsneOptions(Iterations: 100, Seed: 5));
        var b = Tsne.Fit(points, new TsneOptions(Iterations: 100, Seed: 5));
        var c = Tsne.Fit(points, new TsneOptions(Iterations: 100, Seed: 6));
        Assert.Equal(a.SelectMany(r => r), b.SelectMany(r => r));
        Assert.NotEqual(a.SelectMany(r => r), c.SelectMany(r => r));
    }

    // The help and docs said "(n - 1) / 3": for 2 to 4 texts that is below 1, which Validate refuses from the user; the code
    // lowers to max(1, (n - 1) / 3).
    [Fact]
    public void A_perplexity_too_large_for_the_points_is_lowered_to_at_least_one_as_the_help_says()
    {
        var rng = new Random(2);
        List<float[]> Points(int n) => [.. Enumerable.Range(0, n).Select(_ => Enumerable.Range(0, 4).Select(_ => (float)Normal(rng)).ToArray())];
        double[] Map(List<float[]> points, double perplexity) => [.. Tsne.Fit(points, new TsneOptions(Perplexity: perplexity, Iterations: 50, Seed: 1)).SelectMany(r => r)];
        var three = Points(3);
        Assert.Equal(Map(three, 1), Map(three, 30));
        var ten = Points(10);
        Assert.Equal(Map(ten, 3), Map(ten, 30));
        // Just under the cap of 3 it is kept: this pins the cap itself, which any lower one also passed above.
        Assert.NotEqual(Map(ten, 2.9), Map(ten, 30));
        Assert.Contains("lowered to max(1, (n - 1) / 3) for n texts when larger", Infrastructure.CliRunner.Run("embed", "--help").StdOut, StringComparison.Ordinal);
        Assert.Contains("lowered to max(1, (n − 1) / 3) for n texts when larger",
            File.ReadAllText(Path.Combine(Infrastructure.TestPaths.RepoRoot, "docs", "serving.md")).ReplaceLineEndings(" "), StringComparison.Ordinal);
    }

    // For each point the calibrated conditional distribution has entropy log(perplexity) (nats, within the binary search's
    // stopping rule of 1e-5); the joint P is their symmetrisation, symmetric and summing to 1.
    [Fact]
    public void Affinities_are_symmetric_and_normalised()
    {
        var rng = new Random(2);
        var points = Enumerable.Range(0, 12).Select(_ => Enumerable.Range(0, 3).Select(_ => (float)Normal(rng)).ToArray()).ToList();
        var cond = Tsne.Conditionals(points, 3);
        for (var i = 0; i < 12; i++)
        {
            var row = Enumerable.Range(0, 12).Select(j => cond[i, j]).ToArray();
            Assert.Equal(0, row[i]);
            Assert.Equal(1.0, row.Sum(), 12);
            var entropy = -row.Where(q => q > 0).Sum(q => q * Math.Log(q));
            Assert.InRange(entropy, Math.Log(3) - 1e-5, Math.Log(3) + 1e-5);
        }
        var p = Tsne.Affinities(points, 3);
        double sum = 0;
        for (var i = 0; i < 12; i++)
        {
            for (var j = 0; j < 12; j++)
            {
                Assert.Equal(i == j ? 1e-12 : (cond[i, j] + cond[j, i]) / 24, p[i, j], 15);
            }
        }
        for (var i = 0; i < 12; i++)
        {
            for (var j = 0; j < 12; j++)
            {
                Assert.Equal(p[i, j], p[j, i], 15);
                sum += i == j ? 0 : p[i, j];
            }
        }
        Assert.Equal(1.0, sum, 6);
    }

    [Fact]
    public void Points_of_different_dimensions_are_refused_naming_the_point()
    {
        float[][] points = [[1, 2, 3], [1, 2], [1, 2]];
        var e = Assert.Throws<BertSharpException>(() => Tsne.Fit(points));
        Assert.Equal("t-SNE: point 1 has 2 coordinate(s), point 0 has 3; every point must have the same dimension.", e.Message);
    }

    // scikit-learn's ranges where it has them (early_exaggeration ≥ 1, learning_rate > 0); a perplexity below 1 is an
    // entropy below 0, which no distribution over the other points has; NaN is refused everywhere.
    [Theory]
    [InlineData(-1.0, 1000, 200.0, 12.0, 250, "t-SNE perplexity -1: expected a number of at least 1.")]
    [InlineData(0.5, 1000, 200.0, 12.0, 250, "t-SNE perplexity 0.5: expected a number of at least 1.")]
    [InlineData(double.NaN, 1000, 200.0, 12.0, 250, "t-SNE perplexity NaN: expected a number of at least 1.")]
    [InlineData(30.0, 0, 200.0, 12.0, 250, "t-SNE iterations 0: expected at least 1.")]
    [InlineData(30.0, 1000, 0.0, 12.0, 250, "t-SNE learning rate 0: expected a positive number.")]
    [InlineData(30.0, 1000, -5.0, 12.0, 250, "t-SNE learning rate -5: expected a positive number.")]
    [InlineData(30.0, 1000, 200.0, 0.5, 250, "t-SNE early exaggeration 0.5: expected a number of at least 1.")]
    [InlineData(30.0, 1000, 200.0, 12.0, -1, "t-SNE exaggeration iterations -1: expected at least 0.")]
    public void Options_out_of_range_are_refused(double perplexity, int iterations, double learningRate, double exaggeration, int exaggerationIterations, string message)
    {
        float[][] points = [[0, 0], [1, 0], [0, 1], [1, 1]];
        var o = new TsneOptions(perplexity, iterations, learningRate, exaggeration, exaggerationIterations);
        var e = Assert.Throws<BertSharpException>(() => Tsne.Fit(points, o));
        Assert.Equal(message, e.Message);
    }

    // The smallest accepted values run (a perplexity of 1 and more than n is lowered, as documented).
    [Fact]
    public void Boundary_options_are_accepted()
    {
        float[][] points = [[0, 0], [1, 0], [0, 1], [1, 1]];
        Assert.Equal(4, Tsne.Fit(points, new TsneOptions(Perplexity: 1, Iterations: 1, EarlyExaggeration: 1, ExaggerationIterations: 0)).Length);
        Assert.Equal(4, Tsne.Fit(points, new TsneOptions(Perplexity: 1000, Iterations: 10)).Length);
    }

    private static double[] Centre(double[][] y, List<int> labels, int c)
    {
        var idx = Enumerable.Range(0, y.Length).Where(i => labels[i] == c).ToArray();
        return [idx.Average(i => y[i][0]), idx.Average(i => y[i][1])];
    }

    private static double Normal(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
