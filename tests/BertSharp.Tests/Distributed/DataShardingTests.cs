using BertSharp.Distributed;

namespace BertSharp.Tests.Distributed;

public sealed class DataShardingTests
{
    [Theory]
    [InlineData(8, 2, new[] { 0, 4, 4, 4 })]
    [InlineData(5, 2, new[] { 0, 3, 3, 2 })]
    [InlineData(7, 3, new[] { 0, 3, 3, 2, 5, 2 })]
    [InlineData(2, 3, new[] { 0, 1, 1, 1, 2, 0 })]
    [InlineData(0, 2, new[] { 0, 0, 0, 0 })]
    public void Slices_are_contiguous_with_the_extra_examples_on_the_first_ranks(int batch, int n, int[] startCountPairs)
    {
        for (var r = 0; r < n; r++)
        {
            Assert.Equal((startCountPairs[2 * r], startCountPairs[2 * r + 1]), DataSharding.Slice(batch, r, n));
        }
    }

    [Fact]
    public void Slices_partition_every_batch_in_order()
    {
        for (var batch = 0; batch <= 40; batch++)
        {
            for (var n = 1; n <= 6; n++)
            {
                var taken = Enumerable.Range(0, n).SelectMany(r => DataSharding.Take(Enumerable.Range(0, batch).ToArray(), r, n)).ToArray();
                Assert.Equal(Enumerable.Range(0, batch), taken);
                var sizes = Enumerable.Range(0, n).Select(r => DataSharding.Slice(batch, r, n).Count).ToArray();
                Assert.True(sizes.Max() - sizes.Min() <= 1);
            }
        }
    }

    [Fact]
    public void Example_weighted_mean_of_rank_means_is_the_global_mean_and_the_plain_mean_is_not()
    {
        // Per-example losses of an uneven last batch (7 examples over 3 ranks: 3, 2, 2).
        double[] losses = [0.9, 0.1, 0.4, 2.0, 1.2, 0.05, 0.7];
        var global = losses.Average();
        var slices = Enumerable.Range(0, 3).Select(r => DataSharding.Take(losses, r, 3)).ToArray();
        var weighted = slices.Sum(s => s.Count * s.Average()) / slices.Sum(s => s.Count);
        var plain = slices.Average(s => s.Average());
        Assert.Equal(global, weighted, 12);
        Assert.True(Math.Abs(plain - global) > 1e-3, "the unweighted average happens to match; pick other losses");
    }

    [Fact]
    public void Bad_arguments_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => DataSharding.Slice(4, 2, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => DataSharding.Slice(4, -1, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => DataSharding.Slice(4, 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => DataSharding.Slice(-1, 0, 1));
        Assert.Equal(64, DataSharding.GlobalBatchSize(16, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => DataSharding.GlobalBatchSize(0, 4));
    }
}
