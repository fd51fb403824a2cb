using BertSharp.Modeling;
using BertSharp.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Data;

/// <summary>A tokenized example: word-piece ids with special tokens, segment ids, and the class id or regression target.</summary>
/// <param name="InputIds">Token ids including [CLS] and [SEP], unpadded.</param>
/// <param name="TokenTypeIds">Segment ids (0 for the first text, 1 for the pair), same length as <paramref name="InputIds"/>.</param>
/// <param name="Target">Class id (as a float) or regression target; NaN when the example has no label.</param>
public sealed record EncodedExample(int[] InputIds, int[] TokenTypeIds, float Target)
{
    /// <summary>Number of tokens.</summary>
    public int Length => InputIds.Length;
}

/// <summary>A padded batch as flat row-major int64 arrays [Rows × Width].</summary>
/// <param name="Ids">Token ids, padded with [PAD].</param>
/// <param name="Mask">1 on real tokens, 0 on padding.</param>
/// <param name="Types">Segment ids, 0 on padding.</param>
/// <param name="Rows">Rows (examples).</param>
/// <param name="Width">The longest row's length.</param>
internal sealed record PaddedRows(long[] Ids, long[] Mask, long[] Types, int Rows, int Width);

/// <summary>One padded batch as tensors. Disposing it frees the tensors.</summary>
public sealed class TensorBatch : IDisposable
{
    internal TensorBatch(Tensor inputIds, Tensor attentionMask, Tensor tokenTypeIds, Tensor? labels, int[] indices)
    {
        InputIds = inputIds;
        AttentionMask = attentionMask;
        TokenTypeIds = tokenTypeIds;
        Labels = labels;
        Indices = indices;
    }

    /// <summary>Token ids, int64 [batch, seq] (seq = the longest example of this batch).</summary>
    public Tensor InputIds { get; }

    /// <summary>1 for real tokens, 0 for padding, int64 [batch, seq].</summary>
    public Tensor AttentionMask { get; }

    /// <summary>Segment ids, int64 [batch, seq].</summary>
    public Tensor TokenTypeIds { get; }

    /// <summary>Class ids int64 [batch], or regression targets float32 [batch]; null when unlabelled.</summary>
    public Tensor? Labels { get; }

    /// <summary>Positions of this batch's examples in the encoded list, in row order.</summary>
    public int[] Indices { get; }

    /// <summary>Number of examples.</summary>
    public int Count => Indices.Length;

    /// <summary>Frees the four tensors (<see cref="Labels"/> when present); using them afterwards throws.</summary>
    public void Dispose()
    {
        InputIds.Dispose();
        AttentionMask.Dispose();
        TokenTypeIds.Dispose();
        Labels?.Dispose();
    }
}

/// <summary>
/// The one batch planner and collator of training, evaluation and inference: groups examples into batches padded only to
/// the longest example in the batch (dynamic padding) and, optionally, groups examples of similar length (length bucketing)
/// so that little compute is spent on padding.
/// </summary>
internal static class Batching
{
    /// <summary>How many batches' worth of examples are sorted together when bucketing: enough to group lengths well,
    /// few enough that the batch order stays random.</summary>
    public const int BucketBatches = 50;

    /// <summary>
    /// Plans the batches of one pass over the data, as lists of example indices.
    /// </summary>
    /// <param name="lengths">Token count of every example.</param>
    /// <param name="batchSize">Examples per batch (the last batch may be smaller).</param>
    /// <param name="rng">Shuffles the examples (and the bucketed batches) when given; file order otherwise.</param>
    /// <param name="bucketByLength">Sort examples by length within windows of <see cref="BucketBatches"/> batches (all of them when not shuffling).</param>
    public static List<int[]> Plan(IReadOnlyList<int> lengths, int batchSize, DeterministicRandom? rng, bool bucketByLength)
    {
        if (batchSize < 1)
        {
            throw new BertSharpException(Invariant($"{BertSharpException.Field("batch_size")} {batchSize}: expected at least 1."));
        }
        var order = Enumerable.Range(0, lengths.Count).ToArray();
        rng?.Shuffle(order);
        if (bucketByLength)
        {
            // In long: batchSize × 50 overflows for a batch size above 42,949,672 (a negative window never ends the loop).
            var window = rng is null ? order.Length : (int)Math.Min(Math.Max(1, order.Length), (long)batchSize * BucketBatches);
            for (var start = 0; start < order.Length; start += window)
            {
                var count = Math.Min(window, order.Length - start);
                // Stable ordering (ties keep their shuffled order) so a seed fixes the batches.
                var sorted = order.Skip(start).Take(count).OrderBy(i => lengths[i]).ToArray();
                sorted.CopyTo(order, start);
            }
        }
        var batches = new List<int[]>();
        for (var start = 0; start < order.Length; start += batchSize)
        {
            batches.Add(order[start..Math.Min(order.Length, start + batchSize)]);
        }
        if (bucketByLength && rng is not null)
        {
            rng.Shuffle(batches);
        }
        return batches;
    }

    /// <summary>Batches for evaluation and inference: every example sorted by length (stable), then cut into batches.</summary>
    public static List<int[]> PlanByLength(IReadOnlyList<int> lengths, int batchSize) => Plan(lengths, batchSize, rng: null, bucketByLength: true);

    /// <summary>
    /// Batches for evaluation: <see cref="PlanByLength"/> when <paramref name="groupByLength"/>, else consecutive examples in
    /// input order (HF Trainer's SequentialSampler, whose eval_loss differs when a batch's loss is a mean over its tokens).
    /// </summary>
    public static List<int[]> PlanEvaluation(IReadOnlyList<int> lengths, int batchSize, bool groupByLength) =>
        Plan(lengths, batchSize, rng: null, bucketByLength: groupByLength);

    /// <summary>
    /// Pads token rows to the longest row and stacks them as int64 tensors [rows, longest] on <paramref name="device"/>: ids
    /// padded with <paramref name="padId"/>, the attention mask (the row's own, or 1 on every token; 0 on padding) and the
    /// token type ids (0 on padding).
    /// </summary>
    /// <param name="ids">Token ids per row, unpadded.</param>
    /// <param name="typeIds">Segment ids per row (same lengths as <paramref name="ids"/>).</param>
    /// <param name="padId">Id of [PAD].</param>
    /// <param name="device">Where the tensors go (CPU when null).</param>
    /// <param name="attentionMasks">Per-row masks when the rows carry their own; null for 1 on every token.</param>
    /// <param name="minWidth">Pad to at least this many tokens (a data-parallel rank pads its slice as the whole batch is padded).</param>
    public static BertInput Pad(IReadOnlyList<int[]> ids, IReadOnlyList<int[]> typeIds, int padId, Device? device = null,
        IReadOnlyList<int[]>? attentionMasks = null, int minWidth = 0)
    {
        var p = PadArrays(ids, typeIds, padId, attentionMasks, minWidth);
        long[] dims = [p.Rows, p.Width];
        return new BertInput(OnDevice(torch.tensor(p.Ids, dims), device), OnDevice(torch.tensor(p.Mask, dims), device),
            OnDevice(torch.tensor(p.Types, dims), device));
    }

    /// <summary>
    /// The padding of <see cref="Pad(IReadOnlyList{int[]}, IReadOnlyList{int[]}, int, Device?, IReadOnlyList{int[]}?, int)"/> as flat
    /// row-major int64 arrays [rows × width], for runtimes that take arrays (ONNX Runtime).
    /// </summary>
    public static PaddedRows PadArrays(IReadOnlyList<IReadOnlyList<int>> ids, IReadOnlyList<IReadOnlyList<int>> typeIds, int padId,
        IReadOnlyList<IReadOnlyList<int>>? attentionMasks = null, int minWidth = 0)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(typeIds);
        var b = ids.Count;
        var t = Math.Max(minWidth, b == 0 ? 0 : ids.Max(r => r.Count));
        var flatIds = new long[b * t];
        var mask = new long[b * t];
        var types = new long[b * t];
        Array.Fill(flatIds, padId);
        for (var r = 0; r < b; r++)
        {
            var row = ids[r];
            var rowTypes = typeIds[r];
            var rowMask = attentionMasks?[r];
            for (var c = 0; c < row.Count; c++)
            {
                flatIds[(r * t) + c] = row[c];
                mask[(r * t) + c] = rowMask is null ? 1 : rowMask[c];
                types[(r * t) + c] = rowTypes[c];
            }
        }
        return new PaddedRows(flatIds, mask, types, b, t);
    }

    /// <summary>Pads tokenizer encodings (their own attention masks kept) into one batch; see <see cref="Pad(IReadOnlyList{int[]}, IReadOnlyList{int[]}, int, Device?, IReadOnlyList{int[]}?, int)"/>.</summary>
    public static BertInput Pad(IReadOnlyList<BertEncoding> encodings, int padId, Device? device = null, int minWidth = 0) =>
        Pad([.. encodings.Select(e => e.Ids)], [.. encodings.Select(e => e.TypeIds)], padId, device, [.. encodings.Select(e => e.AttentionMask)], minWidth);

    /// <summary>
    /// Pads the examples at <paramref name="indices"/> to their longest length and moves them to <paramref name="device"/>.
    /// </summary>
    /// <param name="examples">All encoded examples.</param>
    /// <param name="indices">Which ones form this batch, in row order.</param>
    /// <param name="padId">Id of [PAD].</param>
    /// <param name="regression">Targets as float32 (regression) rather than int64 class ids.</param>
    /// <param name="withLabels">Whether to build the label tensor.</param>
    /// <param name="device">Where the tensors go.</param>
    /// <exception cref="ArgumentException"><paramref name="indices"/> is empty or holds an index outside <paramref name="examples"/>.</exception>
    public static TensorBatch Collate(IReadOnlyList<EncodedExample> examples, int[] indices, int padId, bool regression, bool withLabels,
        Device? device = null) =>
        Build(Picked(examples, indices, nameof(examples)), indices, padId, regression, withLabels, device);

    /// <summary>A data-parallel rank's share of a global batch that gave it no example: no row, labelled as <see cref="Collate"/> labels.</summary>
    public static TensorBatch Empty(bool regression, Device? device = null) => Build([], [], padId: 0, regression, withLabels: true, device);

    /// <summary>The batch of <paramref name="rows"/>, which <see cref="Picked"/> took from the examples by <paramref name="indices"/>.</summary>
    internal static TensorBatch Build(EncodedExample[] rows, int[] indices, int padId, bool regression, bool withLabels, Device? device)
    {
        var input = Pad([.. rows.Select(r => r.InputIds)], [.. rows.Select(r => r.TokenTypeIds)], padId, device);
        Tensor? labels = null;
        if (withLabels)
        {
            long[] dims = [rows.Length];
            labels = OnDevice(regression
                ? torch.tensor(rows.Select(r => r.Target).ToArray(), dims)
                : torch.tensor(rows.Select(r => (long)r.Target).ToArray(), dims), device);
        }
        return new TensorBatch(input.InputIds, input.AttentionMask!, input.TokenTypeIds!, labels, indices);
    }

    // Every collator's entry (this one's and the task heads'). No index failed at a batch's first row or silently built a
    // batch of no row (a rank given no example takes its collator's empty batch instead); one outside the list failed with
    // the list's own exception, naming index, or the array's, naming nothing.
    /// <summary>The items of <paramref name="list"/> that <paramref name="indices"/> picks, in its order.</summary>
    /// <param name="list">What the indices index.</param>
    /// <param name="indices">At least one index, each in [0, the list's count).</param>
    /// <param name="listName">The parameter name of <paramref name="list"/>, for the refusals.</param>
    /// <exception cref="ArgumentException"><paramref name="indices"/> is empty or holds an index outside <paramref name="list"/>.</exception>
    public static T[] Picked<T>(IReadOnlyList<T> list, int[] indices, string listName)
    {
        ArgumentNullException.ThrowIfNull(list, listName);
        ArgumentNullException.ThrowIfNull(indices);
        if (indices.Length == 0)
        {
            throw new ArgumentException(Invariant($"indices is empty; expected at least one index into {listName}, [0, {list.Count})."), nameof(indices));
        }
        for (var r = 0; r < indices.Length; r++)
        {
            if ((uint)indices[r] >= (uint)list.Count)
            {
                throw new ArgumentException(Invariant($"index {r} of indices is {indices[r]}; expected an index into {listName}, [0, {list.Count})."), nameof(indices));
            }
        }
        return [.. indices.Select(i => list[i])];
    }

    /// <summary>A CPU-built tensor moved to <paramref name="device"/> (the CPU copy is freed); itself on the CPU.</summary>
    public static Tensor OnDevice(Tensor cpu, Device? device)
    {
        if (device is null || device.type == DeviceType.CPU)
        {
            return cpu;
        }
        using (cpu)
        {
            return cpu.to(device);
        }
    }
}
