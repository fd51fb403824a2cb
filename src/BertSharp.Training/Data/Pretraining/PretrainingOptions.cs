
namespace BertSharp.Data.Pretraining;

/// <summary>The knobs of google-research/bert's <c>create_pretraining_data.py</c>, with its defaults except where noted.</summary>
public sealed record PretrainingOptions
{
    /// <summary>Hard limit on [CLS] A [SEP] B [SEP] (google default 128).</summary>
    public int MaxSeqLength { get; init; } = 128;

    /// <summary>Cap on masked positions per sequence (google default 20).</summary>
    public int MaxPredictionsPerSeq { get; init; } = 20;

    /// <summary>Share of tokens to predict (google default 0.15).</summary>
    public double MaskedLmProb { get; init; } = 0.15;

    /// <summary>How many times each document is turned into instances, with different segments and masks (google default 10).</summary>
    public int DupeFactor { get; init; } = 10;

    /// <summary>Probability of a document pass using a random shorter target length (google default 0.1).</summary>
    public double ShortSeqProb { get; init; } = 0.1;

    /// <summary>Mask all word pieces of a word together (google's <c>do_whole_word_mask</c>).</summary>
    public bool WholeWordMask { get; init; }

    /// <summary>
    /// Keep the NSP labels at 50/50: a chunk holding a single sentence (a one-sentence document, the tail of a document,
    /// a sentence longer than the target) is split inside the sentence half of the time instead of always getting a random
    /// next segment as in google's script (false reproduces google exactly; on IMDb reviews it gives ~57 % random-next).
    /// </summary>
    public bool BalancedNsp { get; init; } = true;

    /// <summary>
    /// <see cref="PretrainingObjective.MaskedLmNextSentence"/> (google's sentence pairs, the default) or
    /// <see cref="PretrainingObjective.MaskedLm"/>: one segment per instance, each document's word pieces packed with the
    /// next ones (a <c>[SEP]</c> between documents) up to the length, as HF <c>run_mlm.py</c>'s <c>group_texts</c> does.
    /// </summary>
    public PretrainingObjective Objective { get; init; } = PretrainingObjective.MaskedLmNextSentence;

    /// <summary>Seed of every random choice; the same seed and inputs give byte-identical output.</summary>
    public long Seed { get; init; } = 12345;

    /// <summary>Throws <see cref="BertSharpException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (MaxSeqLength is < 5 or > 65535)
        {
            throw new BertSharpException(Invariant($"{BertSharpException.Field("max_seq_length")} {MaxSeqLength}: expected 5..65535 (room for [CLS] A [SEP] B [SEP])."));
        }
        if (MaxPredictionsPerSeq is < 1 or > 255)
        {
            throw new BertSharpException(Invariant($"{BertSharpException.Field("max_predictions_per_seq")} {MaxPredictionsPerSeq}: expected 1..255."));
        }
        if (MaskedLmProb is <= 0 or >= 1 || double.IsNaN(MaskedLmProb))
        {
            throw new BertSharpException(Invariant($"{BertSharpException.Field("masked_lm_prob")} {MaskedLmProb}: expected a probability in (0, 1)."));
        }
        if (DupeFactor < 1)
        {
            throw new BertSharpException(Invariant($"{BertSharpException.Field("dupe_factor")} {DupeFactor}: expected at least 1."));
        }
        if (ShortSeqProb is < 0 or > 1 || double.IsNaN(ShortSeqProb))
        {
            throw new BertSharpException(Invariant($"{BertSharpException.Field("short_seq_prob")} {ShortSeqProb}: expected a probability in [0, 1]."));
        }
    }
}
