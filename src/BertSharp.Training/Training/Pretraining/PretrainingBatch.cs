using BertSharp.Data.Pretraining;
using BertSharp.Modeling;
using static TorchSharp.torch;

namespace BertSharp.Training.Pretraining;

/// <summary>
/// A collated MLM + NSP batch, padded to its longest instance.
/// </summary>
/// <param name="InputIds">[batch, seq] int64, padded with [PAD].</param>
/// <param name="TokenTypeIds">[batch, seq] int64: 0 for [CLS] A [SEP], 1 for B [SEP] and padding.</param>
/// <param name="AttentionMask">[batch, seq] int64: 1 real token, 0 padding.</param>
/// <param name="Labels">[batch, seq] int64: the original token at masked positions, -100 elsewhere.</param>
/// <param name="NextSentenceLabels">[batch] int64: 1 when B is a random segment, 0 when it follows A.</param>
/// <param name="Tokens">Real (non-padding) tokens in the batch.</param>
public sealed record PretrainingBatch(Tensor InputIds, Tensor TokenTypeIds, Tensor AttentionMask, Tensor Labels, Tensor NextSentenceLabels, long Tokens)
{
    /// <summary>Builds the tensors on <paramref name="device"/>; they belong to the caller's dispose scope.</summary>
    public static PretrainingBatch Collate(IReadOnlyList<PretrainingInstance> instances, int padId, Device device)
    {
        ArgumentNullException.ThrowIfNull(instances);
        var b = instances.Count;
        var l = instances.Max(x => x.Length);
        var ids = new long[b * l];
        var types = new long[b * l];
        var mask = new long[b * l];
        var labels = new long[b * l];
        var nsp = new long[b];
        long tokens = 0;
        Array.Fill(labels, Losses.IgnoreIndex);
        for (var i = 0; i < b; i++)
        {
            var x = instances[i];
            var row = i * l;
            for (var j = 0; j < l; j++)
            {
                var real = j < x.Length;
                ids[row + j] = real ? x.InputIds[j] : padId;
                mask[row + j] = real ? 1 : 0;
                types[row + j] = real && j >= x.SegmentALength ? 1 : 0;
            }
            for (var k = 0; k < x.MaskedPositions.Length; k++)
            {
                labels[row + x.MaskedPositions[k]] = x.MaskedLabels[k];
            }
            nsp[i] = x.IsRandomNext ? 1 : 0;
            tokens += x.Length;
        }
        return new PretrainingBatch(
            tensor(ids, [b, l]).to(device), tensor(types, [b, l]).to(device), tensor(mask, [b, l]).to(device),
            tensor(labels, [b, l]).to(device), tensor(nsp, [b]).to(device), tokens);
    }
}
