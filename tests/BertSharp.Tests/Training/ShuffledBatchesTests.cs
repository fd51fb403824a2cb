using BertSharp.Training;

namespace BertSharp.Tests.Training;

/// <summary>The task heads' training batches: grouped by length unless --no-bucketing (HF's group_by_length=False) turns it off.</summary>
public sealed class ShuffledBatchesTests
{
    // Lengths 1..16 in batches of 2: the 16 examples fit one bucketing window (50 batches), so grouped by length every batch is
    // a pair of lengths 2k+1 and 2k+2; a plain seeded shuffle pairs them otherwise.
    private static List<int[]> Epoch(bool bucketByLength)
    {
        int[] lengths = [.. Enumerable.Range(1, 16)];
        var data = new ShuffledBatches(lengths, batchSize: 2, gradAccum: 8, bucketByLength, seed: 3,
            (_, _) => throw new InvalidOperationException("not collated here"), () => throw new InvalidOperationException("not collated here"));
        Assert.Equal(1, data.StepsPerEpoch);
        return [.. data.Plan.BatchesOf(1)];
    }

    [Fact]
    public void Without_bucketing_the_batches_are_a_plain_shuffle_of_every_example()
    {
        static bool Grouped(int[] batch) => batch.Length == 2 && batch.Min() % 2 == 0 && batch.Max() == batch.Min() + 1;
        // Example i has length i + 1: a length pair {2k+1, 2k+2} is the example pair {2k, 2k+1}.
        var grouped = Epoch(bucketByLength: true);
        Assert.All(grouped, b => Assert.True(Grouped(b), string.Join(",", b)));

        var plain = Epoch(bucketByLength: false);
        Assert.Equal(Enumerable.Range(0, 16), plain.SelectMany(b => b).Order());
        Assert.True(plain.Count(Grouped) <= 2, string.Join(" ", plain.Select(b => string.Join(",", b))));
    }
}
