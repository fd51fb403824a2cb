using BertSharp.Data;
using BertSharp.Data.Pretraining;
using BertSharp.Modeling;
using static TorchSharp.torch;

namespace BertSharp.Training.Pretraining;

/// <summary>
/// A collated MLM + NSP batch, padded to its longest instance.
/// </summary>
/// <param name="InputIds">[batch, seq] int64, padded with [PAD].</param>
/// <param name="TokenTypeIds">[batch, seq] int64: 0 for [CLS] A [SEP] and padding, 1 for B [SEP] (google's segment_ids).</param>
/// <param name="AttentionMask">[batch, seq] int64: 1 real token, 0 padding.</param>
/// <param name="Labels">[batch, seq] int64: the original token at masked positions, -100 elsewhere.</param>
/// <param name="NextSentenceLabels">[batch] int64: 1 when B is a random segment, 0 when it follows A.</param>
/// <param name="Tokens">Real (non-padding) tokens in the batch.</param>
public sealed record PretrainingBatch(Tensor InputIds, Tensor TokenTypeIds, Tensor AttentionMask, Tensor Labels, Tensor NextSentenceLabels, long Tokens)
{
    /// <summary>Each row's position in the run's instance stream (its global example index, for keyed dropout); empty when unknown.</summary>
    public IReadOnlyList<long> Positions { get; init; } = [];

    /// <summary>Instances (rows).</summary>
    public int Count => (int)NextSentenceLabels.shape[0];

    /// <summary>Masked (labelled) positions in the batch: what the masked-LM loss averages over.</summary>
    public long MaskedTokens { get; init; }

    /// <summary>
    /// Masked positions of the whole optimizer step this micro-batch belongs to (every micro-batch of the step, every rank's
    /// slice): the masked-LM loss of the step is one mean over them, as google's over its batch, so a micro-batch weighs by its
    /// masked tokens. 0 when unknown: the micro-batch then stands for an equal share of the step (its own count × micro-batches).
    /// </summary>
    public long StepMaskedTokens { get; init; }

    /// <summary>Instances of the whole optimizer step (all micro-batches, all ranks), what the NSP mean is over; 0 when unknown, as <see cref="StepMaskedTokens"/>.</summary>
    public long StepInstances { get; init; }

    /// <summary>Builds the tensors on <paramref name="device"/>; they belong to the caller's dispose scope.</summary>
    public static PretrainingBatch Collate(IReadOnlyList<PretrainingInstance> instances, int padId, Device device)
    {
        ArgumentNullException.ThrowIfNull(instances);
        var b = instances.Count;
        var input = Batching.Pad([.. instances.Select(x => x.InputIds)],
            [.. instances.Select(x => Enumerable.Range(0, x.Length).Select(j => j >= x.SegmentALength ? 1 : 0).ToArray())], padId, device);
        var l = input.InputIds.shape[1];
        var labels = new long[b * l];
        var nsp = new long[b];
        long tokens = 0;
        Array.Fill(labels, Losses.IgnoreIndex);
        for (var i = 0; i < b; i++)
        {
            var x = instances[i];
            for (var k = 0; k < x.MaskedPositions.Length; k++)
            {
                labels[(i * l) + x.MaskedPositions[k]] = x.MaskedLabels[k];
            }
            nsp[i] = x.IsRandomNext ? 1 : 0;
            tokens += x.Length;
        }
        return new PretrainingBatch(input.InputIds, input.TokenTypeIds!, input.AttentionMask!,
            Batching.OnDevice(tensor(labels, [b, l]), device), Batching.OnDevice(tensor(nsp, [b]), device), tokens)
        {
            MaskedTokens = labels.LongCount(x => x != Losses.IgnoreIndex),
        };
    }
}
