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
