using BertSharp.Distributed;
using static TorchSharp.torch;

namespace BertSharp.Tests.Distributed;

public sealed class GradientBucketsTests
{
    [Fact]
    public void A_bucket_limit_beyond_the_model_stages_only_the_bucket_planned()
    {
        // long.MaxValue: one bucket for everything. The staging buffer used to be allocated at the limit, which libtorch
        // refused ("can't allocate memory: you tried to allocate 9223372036854775804 bytes").
        using var w = new TorchSharp.Modules.Parameter(ones(3, 2));
        using var b = new TorchSharp.Modules.Parameter(ones(2));
        using var two = tensor(2f);
        using (var lw = w.sum())
        using (var lb = b.sum().mul(two))
        {
            lw.backward();
            lb.backward();
        }
        using var dp = new DataParallel(new AgreeingRank(0, 2), [("w", w), ("b", b)], long.MaxValue);
        dp.SumGradients();
        Assert.Equal(1, dp.LastBucketCount);
        // Each rank's share is its weight over the ranks' total; this rank's echoed weight is the total, so nothing changes.
        Assert.Equal(1.0, dp.AverageGradients(1));
        Assert.Equal(Enumerable.Repeat(1f, 6), w.grad!.data<float>().ToArray());
        Assert.Equal([2f, 2f], b.grad!.data<float>().ToArray());
    }

    [Fact]
    public void Buckets_fill_up_to_the_limit_in_order_and_split_on_dtype_and_device()
    {
        // 100-byte buckets over float32 tensors of 10, 12, 3, 30 (alone: 120 B), 0 (skipped), 5 elements, a float64 one
        // and one on another device.
        (long, ScalarType, int, string)[] tensors =
        [
            (10, ScalarType.Float32, 4, "cpu"), (12, ScalarType.Float32, 4, "cpu"), (3, ScalarType.Float32, 4, "cpu"),
            (30, ScalarType.Float32, 4, "cpu"), (0, ScalarType.Float32, 4, "cpu"), (5, ScalarType.Float32, 4, "cpu"),
            (2, ScalarType.Float64, 8, "cpu"), (1, ScalarType.Float64, 8, "cuda:0"),
        ];
        var plan = GradientBuckets.Plan(tensors, 100);
        Assert.Equal(5, plan.Count);
        Assert.Equal([new BucketSlot(0, 0, 10), new BucketSlot(1, 10, 12), new BucketSlot(2, 22, 3)], plan[0].Slots); // 40 + 48 + 12 = 100 B
        Assert.Equal([new BucketSlot(3, 0, 30)], plan[1].Slots);                                                       // 120 B: alone
        Assert.Equal([new BucketSlot(5, 0, 5)], plan[2].Slots);
        Assert.Equal((ScalarType.Float64, "cpu", 2L), (plan[3].DType, plan[3].Device, plan[3].Elements));
        Assert.Equal((ScalarType.Float64, "cuda:0", 1L), (plan[4].DType, plan[4].Device, plan[4].Elements));
    }

    [Fact]
    public void Every_tensor_lands_in_exactly_one_bucket_within_the_limit()
    {
        var rng = new Random(7);
        for (var trial = 0; trial < 50; trial++)
        {
            var tensors = Enumerable.Range(0, rng.Next(1, 40)).Select(_ => ((long)rng.Next(0, 300), ScalarType.Float32, 4, "cpu")).ToArray();
            var limit = rng.Next(4, 2000);
            var plan = GradientBuckets.Plan(tensors, limit);
            var indices = plan.SelectMany(b => b.Slots.Select(s => s.Index)).ToArray();
            Assert.Equal(Enumerable.Range(0, tensors.Length).Where(i => tensors[i].Item1 > 0), indices);
            foreach (var bucket in plan)
            {
                Assert.True(bucket.Slots.Count == 1 || bucket.Elements * 4 <= limit);
                var offset = 0L;
                foreach (var slot in bucket.Slots)
                {
                    Assert.Equal(offset, slot.Offset);
                    Assert.Equal(tensors[slot.Index].Item1, slot.Count);
                    offset += slot.Count;
                }
            }
        }
    }

    [Fact]
    public void Default_bucket_is_25_MiB_and_a_larger_tensor_travels_alone()
    {
        Assert.Equal(25L * 1024 * 1024, GradientBuckets.DefaultBucketBytes);
        // BERT-base's largest tensor is the 30522 x 768 word embedding (93.8 MB): one bucket of its own.
        var plan = GradientBuckets.Plan([(768L * 768, ScalarType.Float32, 4, "cpu"), (30522L * 768, ScalarType.Float32, 4, "cpu"), (768L, ScalarType.Float32, 4, "cpu")],
            GradientBuckets.DefaultBucketBytes);
        Assert.Equal([1, 1, 1], plan.Select(b => b.Slots.Count));
    }
}
