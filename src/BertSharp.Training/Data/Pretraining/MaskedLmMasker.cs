namespace BertSharp.Data.Pretraining;

/// <summary>
/// google-research/bert's <c>create_masked_lm_predictions</c>: choose <c>min(max_predictions, max(1, round(L · p)))</c>
/// candidate positions (never <c>[CLS]</c>/<c>[SEP]</c>; with whole-word masking all pieces of a word together), then replace
/// each with <c>[MASK]</c> 80 %, keep it 10 %, or a uniformly random vocabulary id 10 % of the time.
/// </summary>
internal sealed class MaskedLmMasker
{
    private readonly MaskingVocabulary _vocab;
    private readonly double _prob;
    private readonly int _maxPredictions;
    private readonly bool _wholeWord;

    public MaskedLmMasker(MaskingVocabulary vocab, double maskedLmProb, int maxPredictionsPerSeq, bool wholeWordMask)
    {
        _vocab = vocab ?? throw new ArgumentNullException(nameof(vocab));
        _prob = maskedLmProb;
        _maxPredictions = maxPredictionsPerSeq;
        _wholeWord = wholeWordMask;
    }

    /// <summary>Builds a masker from data options.</summary>
    public MaskedLmMasker(MaskingVocabulary vocab, PretrainingOptions options)
        : this(vocab, options?.MaskedLmProb ?? throw new ArgumentNullException(nameof(options)), options.MaxPredictionsPerSeq, options.WholeWordMask)
    {
    }

    /// <summary>The number of predictions google's rule gives a sequence of <paramref name="length"/> tokens (specials included).</summary>
    public int NumToPredict(int length) =>
        Math.Min(_maxPredictions, Math.Max(1, (int)Math.Round(length * _prob, MidpointRounding.ToEven)));

    /// <summary>Masks <paramref name="tokens"/> (unmasked ids, length L) and returns the masked copy with positions and labels.</summary>
    public (int[] Output, int[] Positions, int[] Labels) Mask(int[] tokens, PretrainingRng rng)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(rng);
        var candidates = new List<List<int>>();
        for (var i = 0; i < tokens.Length; i++)
        {
            var t = tokens[i];
            if (t == _vocab.ClsId || t == _vocab.SepId)
            {
                continue;
            }
            if (_wholeWord && candidates.Count > 0 && (uint)t < (uint)_vocab.Size && _vocab.IsContinuation[t])
            {
                candidates[^1].Add(i);
            }
            else
            {
                candidates.Add([i]);
            }
        }
        rng.Shuffle(candidates);

        var output = (int[])tokens.Clone();
        var numToPredict = NumToPredict(tokens.Length);
        var covered = new bool[tokens.Length];
        var chosen = new List<int>(numToPredict);
        foreach (var set in candidates)
        {
            if (chosen.Count >= numToPredict)
            {
                break;
            }
            // google skips (rather than truncates) a whole word that would exceed the budget.
            if (chosen.Count + set.Count > numToPredict || set.Exists(i => covered[i]))
            {
                continue;
            }
            foreach (var index in set)
            {
                covered[index] = true;
                int replacement;
                if (rng.NextDouble() < 0.8)
                {
                    replacement = _vocab.MaskId;
                }
                else if (rng.NextDouble() < 0.5)
                {
                    replacement = tokens[index];
                }
                else
                {
                    replacement = rng.RandInt(0, _vocab.Size - 1);
                }
                output[index] = replacement;
                chosen.Add(index);
            }
        }
        chosen.Sort();
        var labels = new int[chosen.Count];
        for (var k = 0; k < labels.Length; k++)
        {
            labels[k] = tokens[chosen[k]];
        }
        return (output, chosen.ToArray(), labels);
    }

    /// <summary>
    /// Dynamic masking (RoBERTa-style): restores the original tokens of a stored instance and masks them afresh with
    /// <paramref name="rng"/>, keeping the segments and the NSP label.
    /// </summary>
    public PretrainingInstance Remask(PretrainingInstance instance, PretrainingRng rng)
    {
        ArgumentNullException.ThrowIfNull(instance);
        var (output, positions, labels) = Mask(instance.OriginalIds(), rng);
        return instance with { InputIds = output, MaskedPositions = positions, MaskedLabels = labels };
    }
}
