using System.Globalization;
using System.Text;

namespace BertSharp.Data.Pretraining;

/// <summary>
/// Measured statistics of a pre-training data set, to check it against google's recipe: the share of non-special tokens
/// chosen for prediction, how those were replaced (<c>[MASK]</c> / random / unchanged), the NSP balance and the lengths.
/// </summary>
public sealed class PretrainingDataStats
{
    /// <summary>Instances measured.</summary>
    public long Instances { get; private set; }

    /// <summary>Tokens other than <c>[CLS]</c> and <c>[SEP]</c> (which are never masked): an instance's three, or a packed one's two and one per document boundary.</summary>
    public long NonSpecialTokens { get; private set; }

    /// <summary>Instances with one segment (data built with <c>--objective mlm</c>): they have no next-sentence label.</summary>
    public long SingleSegment { get; private set; }

    /// <summary>Predicted (masked-LM) positions over all instances.</summary>
    public long Masked { get; private set; }

    /// <summary>Predicted positions whose input is <c>[MASK]</c>.</summary>
    public long ReplacedByMask { get; private set; }

    /// <summary>Predicted positions whose input equals the label (the "keep" 10 %, plus random draws that hit the same token).</summary>
    public long Unchanged { get; private set; }

    /// <summary>Predicted positions holding another token.</summary>
    public long ReplacedByRandom { get; private set; }

    /// <summary>Instances whose second segment comes from another document (next-sentence label 1).</summary>
    public long RandomNext { get; private set; }

    /// <summary>Instances whose masked count hit <c>max_predictions_per_seq</c>.</summary>
    public long AtPredictionCap { get; private set; }

    /// <summary>Longest instance in tokens, special tokens included (0 when empty).</summary>
    public int MaxLength { get; private set; }

    /// <summary>Sum of the instances' lengths in tokens, special tokens included; divided by <see cref="Instances"/> it is the mean length.</summary>
    public long SumLength { get; private set; }

    /// <summary>Instance counts by length bucket (bucket b holds lengths b·BucketWidth + 1 … (b+1)·BucketWidth).</summary>
    public SortedDictionary<int, long> LengthHistogram { get; } = [];

    /// <summary>Width in tokens of a <see cref="LengthHistogram"/> bucket: the data's <c>max_seq_length</c> / 8, at least 1.</summary>
    public int BucketWidth { get; private set; } = 16;

    /// <summary>Share of non-special tokens chosen for prediction, <see cref="Masked"/> / <see cref="NonSpecialTokens"/>, in [0, 1] (google's recipe: about 0.15); 0 when there are none.</summary>
    public double MaskedFraction => NonSpecialTokens == 0 ? 0 : (double)Masked / NonSpecialTokens;

    /// <summary>Share of predicted positions whose input is <c>[MASK]</c>, in [0, 1] (google's recipe: 0.8); 0 when nothing is masked.</summary>
    public double MaskShare => Masked == 0 ? 0 : (double)ReplacedByMask / Masked;

    /// <summary>Share of predicted positions holding another (random) token, in [0, 1] (google's recipe: just under 0.1); 0 when nothing is masked.</summary>
    public double RandomShare => Masked == 0 ? 0 : (double)ReplacedByRandom / Masked;

    /// <summary>Share of predicted positions left as they were, in [0, 1] (google's recipe: just over 0.1, random draws of the same token included); 0 when nothing is masked.</summary>
    public double UnchangedShare => Masked == 0 ? 0 : (double)Unchanged / Masked;

    /// <summary>Share of instances with a random next segment, in [0, 1] (about 0.5 for balanced sentence-pair data, 0 for <c>mlm</c> data); 0 when empty.</summary>
    public double RandomNextShare => Instances == 0 ? 0 : (double)RandomNext / Instances;

    /// <summary>Reads every shard of <paramref name="dataset"/> (verifying CRCs) and measures it.</summary>
    public static PretrainingDataStats Compute(PretrainingDataset dataset, IProgress<PretrainingProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        var stats = For(dataset.Manifest);
        for (var s = 0; s < dataset.Manifest.Shards.Count; s++)
        {
            foreach (var x in dataset.ReadShard(s))
            {
                stats.Add(x, dataset.Manifest);
            }
            progress?.Report(new PretrainingProgress("stats", s + 1, dataset.Manifest.Shards.Count));
        }
        return stats;
    }

    /// <summary>Empty statistics for instances of data described by <paramref name="manifest"/>.</summary>
    internal static PretrainingDataStats For(PretrainingManifest manifest) => new() { BucketWidth = Math.Max(1, manifest.MaxSeqLength / 8) };

    /// <summary>Adds one instance of the data <paramref name="manifest"/> describes (its special ids and prediction cap).</summary>
    public void Add(PretrainingInstance x, PretrainingManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(manifest);
        var maskId = manifest.MaskId;
        var maxPredictions = manifest.MaxPredictionsPerSeq;
        Instances++;
        // Counted, not assumed: a packed masked-LM instance has a [SEP] at each document boundary besides its [CLS] … [SEP].
        // A predicted position is never one (its input may be a random draw of one).
        var specials = 0;
        for (var i = 0; i < x.Length; i++)
        {
            specials += x.InputIds[i] == manifest.ClsId || x.InputIds[i] == manifest.SepId ? 1 : 0;
        }
        foreach (var position in x.MaskedPositions)
        {
            specials -= x.InputIds[position] == manifest.ClsId || x.InputIds[position] == manifest.SepId ? 1 : 0;
        }
        NonSpecialTokens += x.Length - specials;
        if (x.SegmentALength == x.Length)
        {
            SingleSegment++;
        }
        Masked += x.MaskedPositions.Length;
        if (x.MaskedPositions.Length >= maxPredictions)
        {
            AtPredictionCap++;
        }
        for (var i = 0; i < x.MaskedPositions.Length; i++)
        {
            var input = x.InputIds[x.MaskedPositions[i]];
            if (input == maskId)
            {
                ReplacedByMask++;
            }
            else if (input == x.MaskedLabels[i])
            {
                Unchanged++;
            }
            else
            {
                ReplacedByRandom++;
            }
        }
        if (x.IsRandomNext)
        {
            RandomNext++;
        }
        MaxLength = Math.Max(MaxLength, x.Length);
        SumLength += x.Length;
        var bucket = (x.Length - 1) / BucketWidth;
        LengthHistogram[bucket] = LengthHistogram.GetValueOrDefault(bucket) + 1;
    }

    /// <summary>A plain-text report.</summary>
    public string Format()
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(c, $"instances            {Instances:N0}");
        sb.AppendLine(c, $"mean length          {(Instances == 0 ? 0 : (double)SumLength / Instances):F1} tokens (max {MaxLength})");
        sb.AppendLine(c, $"masked               {MaskedFraction * 100:F2} % of {NonSpecialTokens:N0} non-special tokens ({Masked:N0} predictions; {AtPredictionCap:N0} instances at the max-predictions cap)");
        sb.AppendLine(c, $"  -> [MASK]          {MaskShare * 100:F2} %");
        sb.AppendLine(c, $"  -> random token    {RandomShare * 100:F2} %");
        sb.AppendLine(c, $"  -> unchanged       {UnchangedShare * 100:F2} %");
        if (SingleSegment == Instances && Instances > 0)
        {
            sb.AppendLine("next sentence        none (one packed segment per instance: masked LM only)");
        }
        else
        {
            sb.AppendLine(c, $"next sentence        {RandomNextShare * 100:F2} % random (label 1), {(1 - RandomNextShare) * 100:F2} % actual next (label 0)");
        }
        sb.AppendLine("length histogram");
        var max = LengthHistogram.Count == 0 ? 1 : LengthHistogram.Values.Max();
        foreach (var (bucket, count) in LengthHistogram)
        {
            var bar = new string('#', (int)Math.Round(40.0 * count / max));
            sb.AppendLine(c, $"  {(bucket * BucketWidth) + 1,4}-{(bucket + 1) * BucketWidth,-4} {count,10:N0} {bar}");
        }
        return sb.ToString();
    }
}
