namespace BertSharp.Data.Pretraining;

/// <summary>
/// One MLM + NSP example: <c>[CLS] A [SEP] B [SEP]</c> with some tokens replaced, unpadded.
/// </summary>
/// <param name="InputIds">Token ids after masking, length L ≤ max_seq_length.</param>
/// <param name="SegmentALength">Number of leading positions with segment id 0 (<c>[CLS]</c>, A and the first <c>[SEP]</c>); the rest are 1.</param>
/// <param name="IsRandomNext">NSP label: true when B was drawn from another document (HF label 1), false when B follows A (label 0).</param>
/// <param name="MaskedPositions">Ascending positions the MLM head predicts.</param>
/// <param name="MaskedLabels">Original token id at each masked position.</param>
public sealed record PretrainingInstance(int[] InputIds, int SegmentALength, bool IsRandomNext, int[] MaskedPositions, int[] MaskedLabels)
{
    /// <summary>Sequence length L.</summary>
    public int Length => InputIds.Length;

    /// <summary>The token ids before masking (labels put back at their positions).</summary>
    public int[] OriginalIds()
    {
        var ids = (int[])InputIds.Clone();
        for (var i = 0; i < MaskedPositions.Length; i++)
        {
            ids[MaskedPositions[i]] = MaskedLabels[i];
        }
        return ids;
    }

    /// <summary>Value equality over the array contents (records compare arrays by reference).</summary>
    public bool ContentEquals(PretrainingInstance other) =>
        other is not null && SegmentALength == other.SegmentALength && IsRandomNext == other.IsRandomNext
        && InputIds.AsSpan().SequenceEqual(other.InputIds) && MaskedPositions.AsSpan().SequenceEqual(other.MaskedPositions)
        && MaskedLabels.AsSpan().SequenceEqual(other.MaskedLabels);
}
