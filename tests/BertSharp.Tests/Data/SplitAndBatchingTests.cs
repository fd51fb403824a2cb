using BertSharp.Data;
using BertSharp.Runtime;

namespace BertSharp.Tests.Data;

public class SplitAndBatchingTests
{
    private static TextDataset Numbers(int n) =>
        new("mem", "label", [.. Enumerable.Range(0, n).Select(i => new TextExample("t" + i, null, (i % 2).ToString(System.Globalization.CultureInfo.InvariantCulture), i + 2))]);

    [Fact]
    public void Default_split_is_the_tail_without_shuffling()
    {
        var (train, val) = DataSplit.TrainValidation(Numbers(20), 0.1, shuffle: false, seed: 0);
        Assert.Equal(18, train.Count);
        Assert.Equal(["t18", "t19"], val!.Examples.Select(e => e.Text));
        Assert.Equal(Enumerable.Range(0, 18).Select(i => "t" + i), train.Examples.Select(e => e.Text));
    }

    [Fact]
    public void Shuffled_split_depends_only_on_the_seed_and_partitions_the_data()
    {
        var a = DataSplit.TrainValidation(Numbers(50), 0.2, shuffle: true, seed: 7);
        var b = DataSplit.TrainValidation(Numbers(50), 0.2, shuffle: true, seed: 7);
        var c = DataSplit.TrainValidation(Numbers(50), 0.2, shuffle: true, seed: 8);
        Assert.Equal(a.Validation!.Examples.Select(e => e.Text), b.Validation!.Examples.Select(e => e.Text));
        Assert.NotEqual(a.Validation!.Examples.Select(e => e.Text), c.Validation!.Examples.Select(e => e.Text));
        Assert.Equal(10, a.Validation.Count);
        Assert.Equal(Enumerable.Range(0, 50).Select(i => "t" + i).Order(),
            a.Train.Examples.Concat(a.Validation.Examples).Select(e => e.Text).Order());
    }

    [Fact]
    public void Val_size_zero_gives_no_validation_and_too_large_is_an_error()
    {
        Assert.Null(DataSplit.TrainValidation(Numbers(5), 0, false, 0).Validation);
        Assert.Throws<BertSharpException>(() => DataSplit.TrainValidation(Numbers(5), 5, false, 0));
    }

    [Fact]
    public void Splitmix64_matches_reference_sequence()
    {
        // Reference values of SplitMix64 seeded with 0 (Vigna's splitmix64.c).
        var r = new DeterministicRandom(0);
        Assert.Equal(0xE220A8397B1DCDAFUL, r.NextUInt64());
        Assert.Equal(0x6E789E6AA1B965F4UL, r.NextUInt64());
        Assert.Equal(0x06C45D188009454FUL, r.NextUInt64());
    }

    [Fact]
    public void Plans_cover_every_example_once_and_bucketing_groups_lengths()
    {
        var lengths = Enumerable.Range(0, 103).Select(i => 3 + ((i * 37) % 50)).ToArray();
        var plain = Batching.Plan(lengths, 8, null, bucketByLength: false);
        Assert.Equal(Enumerable.Range(0, 103), plain.SelectMany(b => b));
        Assert.Equal(13, plain.Count);
        var shuffled = Batching.Plan(lengths, 8, new DeterministicRandom(1), bucketByLength: true);
        Assert.Equal(Enumerable.Range(0, 103), shuffled.SelectMany(b => b).Order());
        var again = Batching.Plan(lengths, 8, new DeterministicRandom(1), bucketByLength: true);
        Assert.Equal(shuffled.SelectMany(b => b), again.SelectMany(b => b));
        // Padding cost: bucketed batches waste far fewer pad positions than file-order batches.
        static long Pad(List<int[]> plan, int[] len) => plan.Sum(b => (long)(b.Max(i => len[i]) * b.Length) - b.Sum(i => len[i]));
        Assert.True(Pad(shuffled, lengths) * 4 < Pad(plain, lengths), $"{Pad(shuffled, lengths)} vs {Pad(plain, lengths)}");
    }

    [Fact]
    public void Collate_pads_to_the_longest_example_of_the_batch()
    {
        TorchRuntime.EnsureLoaded();
        EncodedExample[] ex =
        [
            new([101, 7, 8, 102], [0, 0, 0, 0], 1),
            new([101, 9, 102, 10, 102], [0, 0, 0, 1, 1], 0),
            new([101, 102], [0, 0], 1),
        ];
        using var b = Batching.Collate(ex, [2, 0], padId: 0, regression: false, withLabels: true);
        Assert.Equal(new long[] { 2, 4 }, b.InputIds.shape);
        Assert.Equal(new long[] { 101, 102, 0, 0, 101, 7, 8, 102 }, b.InputIds.data<long>().ToArray());
        Assert.Equal(new long[] { 1, 1, 0, 0, 1, 1, 1, 1 }, b.AttentionMask.data<long>().ToArray());
        Assert.Equal(new long[] { 1, 1 }, b.Labels!.data<long>().ToArray());
        using var all = Batching.Collate(ex, [0, 1, 2], padId: 0, regression: true, withLabels: true);
        Assert.Equal(new long[] { 3, 5 }, all.InputIds.shape);
        Assert.Equal(new long[] { 0, 0, 0, 1, 1 }, all.TokenTypeIds[1].data<long>().ToArray());
        Assert.Equal(TorchSharp.torch.ScalarType.Float32, all.Labels!.dtype);
        // No index built a batch of no row (a data-parallel rank given no example takes Batching.Empty); one outside the
        // examples failed with the array's IndexOutOfRangeException, naming nothing.
        string Refused(int[] indices) =>
            Assert.Throws<ArgumentException>("indices", () => Batching.Collate(ex, indices, padId: 0, regression: false, withLabels: true)).Message;
        Assert.Equal("indices is empty; expected at least one index into examples, [0, 3). (Parameter 'indices')", Refused([]));
        Assert.Equal("index 1 of indices is 3; expected an index into examples, [0, 3). (Parameter 'indices')", Refused([0, 3]));
        Assert.StartsWith("index 0 of indices is -1; expected", Refused([-1]), StringComparison.Ordinal);
        using var none = Batching.Empty(regression: true);
        Assert.Equal(new long[] { 0, 0 }, none.InputIds.shape);
        Assert.Equal(TorchSharp.torch.ScalarType.Float32, none.Labels!.dtype);
    }
}
