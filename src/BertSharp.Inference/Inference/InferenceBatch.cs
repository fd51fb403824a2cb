using BertSharp.Modeling;
using BertSharp.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Inference;

/// <summary>
/// Dynamic padding and length bucketing for inference: inputs are sorted by length, cut into batches, and each batch is padded
/// only to its own longest input.
/// </summary>
public static class InferenceBatch
{
    /// <summary>Groups indexes of <paramref name="lengths"/> into batches of at most <paramref name="batchSize"/>, similar lengths together.</summary>
    public static IReadOnlyList<int[]> Plan(IReadOnlyList<int> lengths, int batchSize)
    {
        if (batchSize < 1)
        {
            throw new BertSharpException($"batch size must be at least 1, got {batchSize}.");
        }
        var order = Enumerable.Range(0, lengths.Count).OrderBy(i => lengths[i]).ToArray();
        return [.. order.Chunk(batchSize)];
    }

    /// <summary>
    /// Stacks unpadded encodings into int64 tensors [batch, longest] on <paramref name="device"/>: ids (padded with
    /// <paramref name="padId"/>), attention mask and token type ids (0 on padding).
    /// </summary>
    public static BertInput Collate(IReadOnlyList<BertEncoding> encodings, int padId, Device device)
    {
        var width = encodings.Count == 0 ? 0 : encodings.Max(e => e.Length);
        var ids = new long[encodings.Count * width];
        var mask = new long[ids.Length];
        var types = new long[ids.Length];
        Array.Fill(ids, padId);
        for (var r = 0; r < encodings.Count; r++)
        {
            var e = encodings[r];
            for (var c = 0; c < e.Length; c++)
            {
                ids[(r * width) + c] = e.Ids[c];
                mask[(r * width) + c] = e.AttentionMask[c];
                types[(r * width) + c] = e.TypeIds[c];
            }
        }
        long[] shape = [encodings.Count, width];
        return new BertInput(
            torch.tensor(ids, shape, device: device),
            torch.tensor(mask, shape, device: device),
            torch.tensor(types, shape, device: device));
    }

    /// <summary>The device the model's parameters live on.</summary>
    public static Device DeviceOf(nn.Module model) => model.parameters().FirstOrDefault()?.device ?? CPU;

    /// <summary>A float32 CPU copy of <paramref name="t"/> as a flat array (row-major).</summary>
    /// <exception cref="NonFiniteOutputException">A value is NaN or infinite (the model's weights are broken).</exception>
    public static float[] ToFloats(Tensor t)
    {
        using var c = t.detach().to(ScalarType.Float32).cpu().contiguous();
        var values = c.data<float>().ToArray();
        NonFiniteOutputException.ThrowIfNotFinite(values, "outputs");
        return values;
    }
}
