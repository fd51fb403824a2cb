using TorchSharp;

namespace BertSharp.Distributed;

/// <summary>One tensor's place in a bucket: its index in the caller's list and its element range in the flat bucket.</summary>
internal readonly record struct BucketSlot(int Index, long Offset, long Count);

/// <summary>
/// Tensors that travel in one collective: consecutive tensors of one dtype and device, flattened end to end into
/// <see cref="Elements"/> values.
/// </summary>
internal sealed record GradientBucket(torch.ScalarType DType, string Device, IReadOnlyList<BucketSlot> Slots)
{
    /// <summary>Total number of values in the bucket.</summary>
    public long Elements => Slots.Count == 0 ? 0 : Slots[^1].Offset + Slots[^1].Count;
}

/// <summary>
/// Packs tensors into buckets of at most a given size, so that gradients travel in a few large collectives (per-message
/// latency paid once per bucket, not once per parameter) with a bounded staging buffer.
/// </summary>
internal static class GradientBuckets
{
    /// <summary>PyTorch DDP's default bucket size, 25 MiB.</summary>
    public const long DefaultBucketBytes = 25L * 1024 * 1024;

    /// <summary>
    /// Groups tensors in list order: a bucket ends when the next tensor would take it past <paramref name="bucketBytes"/>
    /// or has another dtype or device; a tensor larger than the limit gets a bucket of its own. Every tensor with at least
    /// one element lands in exactly one bucket; empty tensors are skipped.
    /// </summary>
    /// <param name="tensors">(elements, dtype, element size in bytes, device name) per tensor, in a fixed order.</param>
    /// <param name="bucketBytes">Upper bound of a bucket's size in bytes (positive).</param>
    public static IReadOnlyList<GradientBucket> Plan(IReadOnlyList<(long Elements, torch.ScalarType DType, int ElementSize, string Device)> tensors, long bucketBytes)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bucketBytes);
        var buckets = new List<GradientBucket>();
        var slots = new List<BucketSlot>();
        torch.ScalarType dtype = default;
        var device = "";
        long bytes = 0, offset = 0;
        void Close()
        {
            if (slots.Count > 0)
            {
                buckets.Add(new GradientBucket(dtype, device, slots.ToArray()));
                slots.Clear();
            }
            bytes = 0;
            offset = 0;
        }
        for (var i = 0; i < tensors.Count; i++)
        {
            var (elements, type, size, dev) = tensors[i];
            if (elements == 0)
            {
                continue;
            }
            var tensorBytes = elements * size;
            if (slots.Count > 0 && (type != dtype || dev != device || bytes + tensorBytes > bucketBytes))
            {
                Close();
            }
            dtype = type;
            device = dev;
            slots.Add(new BucketSlot(i, offset, elements));
            offset += elements;
            bytes += tensorBytes;
        }
        Close();
        return buckets;
    }

    /// <summary><see cref="Plan(IReadOnlyList{ValueTuple{long, torch.ScalarType, int, string}}, long)"/> for live tensors.</summary>
    public static IReadOnlyList<GradientBucket> Plan(IReadOnlyList<torch.Tensor> tensors, long bucketBytes) =>
        Plan(tensors.Select(t => (t.numel(), t.dtype, (int)t.ElementSize, t.device.ToString())).ToArray(), bucketBytes);
}
