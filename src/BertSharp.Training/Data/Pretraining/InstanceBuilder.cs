namespace BertSharp.Data.Pretraining;

/// <summary>
/// google-research/bert's <c>create_instances_from_document</c> and <c>truncate_seq_pair</c> over token-id documents
/// (a document is its sentences, each a non-empty array of word-piece ids).
/// </summary>
internal sealed class InstanceBuilder
{
    private readonly PretrainingOptions _options;
    private readonly MaskingVocabulary _vocab;
    private readonly MaskedLmMasker _masker;

    public InstanceBuilder(PretrainingOptions options, MaskingVocabulary vocab)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _vocab = vocab ?? throw new ArgumentNullException(nameof(vocab));
        _masker = new MaskedLmMasker(vocab, options);
    }

    /// <summary>
    /// Appends to <paramref name="output"/> the instances of document <paramref name="documentIndex"/>: sentences are
    /// gathered up to a target length, split at a random sentence boundary into A and B; half of the time (always when
    /// there is one chunk) B is instead taken from a random other document and the unused sentences are put back.
    /// With <see cref="PretrainingOptions.BalancedNsp"/> a one-sentence chunk is not forced to "random next": half of the
    /// time it is split at a word start into A and its actual continuation B.
    /// </summary>
    public void CreateFromDocument(IReadOnlyList<int[][]> allDocuments, int documentIndex, PretrainingRng rng, List<PretrainingInstance> output)
    {
        ArgumentNullException.ThrowIfNull(allDocuments);
        ArgumentNullException.ThrowIfNull(rng);
        ArgumentNullException.ThrowIfNull(output);
        var document = allDocuments[documentIndex];
        var maxNumTokens = _options.MaxSeqLength - 3;
        var targetSeqLength = maxNumTokens;
        if (rng.NextDouble() < _options.ShortSeqProb)
        {
            targetSeqLength = rng.RandInt(2, maxNumTokens);
        }

        var chunk = new List<int[]>();
        var currentLength = 0;
        var i = 0;
        while (i < document.Length)
        {
            var segment = document[i];
            chunk.Add(segment);
            currentLength += segment.Length;
            if (i == document.Length - 1 || currentLength >= targetSeqLength)
            {
                if (chunk.Count > 0)
                {
                    var aEnd = chunk.Count >= 2 ? rng.RandInt(1, chunk.Count - 1) : 1;
                    var tokensA = new List<int>();
                    for (var j = 0; j < aEnd; j++)
                    {
                        tokensA.AddRange(chunk[j]);
                    }
                    var tokensB = new List<int>();
                    bool isRandomNext;
                    var splittable = chunk.Count == 1 && _options.BalancedNsp && chunk[0].Length >= 2;
                    if ((chunk.Count == 1 && !splittable) || rng.NextDouble() < 0.5)
                    {
                        isRandomNext = true;
                        var targetBLength = targetSeqLength - tokensA.Count;
                        var randomIndex = 0;
                        for (var attempt = 0; attempt < 10; attempt++)
                        {
                            randomIndex = rng.RandInt(0, allDocuments.Count - 1);
                            if (randomIndex != documentIndex)
                            {
                                break;
                            }
                        }
                        var randomDocument = allDocuments[randomIndex];
                        var randomStart = rng.RandInt(0, randomDocument.Length - 1);
                        for (var j = randomStart; j < randomDocument.Length; j++)
                        {
                            tokensB.AddRange(randomDocument[j]);
                            if (tokensB.Count >= targetBLength)
                            {
                                break;
                            }
                        }
                        // The sentences of this chunk that B did not use are "put back" so they start the next chunk.
                        i -= chunk.Count - aEnd;
                    }
                    else if (chunk.Count == 1)
                    {
                        // Balanced NSP: google forces "random next" for one-sentence chunks, which pushes label 1 well
                        // above 50 % on corpora of short documents; instead split that sentence at a word start.
                        isRandomNext = false;
                        var split = ChooseWordStart(chunk[0], rng);
                        tokensA.Clear();
                        tokensA.AddRange(chunk[0].AsSpan(0, split));
                        tokensB.AddRange(chunk[0].AsSpan(split));
                    }
                    else
                    {
                        isRandomNext = false;
                        for (var j = aEnd; j < chunk.Count; j++)
                        {
                            tokensB.AddRange(chunk[j]);
                        }
                    }
                    TruncateSeqPair(tokensA, tokensB, maxNumTokens, rng);
                    output.Add(Assemble(tokensA, tokensB, isRandomNext, rng));
                }
                chunk.Clear();
                currentLength = 0;
            }
            i++;
        }
    }

    /// <summary>
    /// The masked-LM-only instances of documents [<paramref name="start"/>, <paramref name="end"/>) (one file, one dupe pass),
    /// as HF <c>run_mlm.py</c>'s <c>group_texts</c>: the documents, in an order shuffled per pass so that every pass packs them
    /// differently, are one stream of word pieces with a <c>[SEP]</c> between documents, cut into <c>[CLS] chunk [SEP]</c>
    /// instances of <c>max_seq_length</c> tokens (with probability <c>short_seq_prob</c> a random shorter length, as google
    /// does, so that the model also sees short inputs). The stream's last chunk is kept, shorter. One segment (ids 0), no NSP label.
    /// </summary>
    public void CreatePacked(IReadOnlyList<int[][]> allDocuments, int start, int end, PretrainingRng rng, List<PretrainingInstance> output)
    {
        ArgumentNullException.ThrowIfNull(allDocuments);
        ArgumentNullException.ThrowIfNull(rng);
        ArgumentNullException.ThrowIfNull(output);
        var maxNumTokens = _options.MaxSeqLength - 2;
        int NextTarget() => rng.NextDouble() < _options.ShortSeqProb ? rng.RandInt(2, maxNumTokens) : maxNumTokens;
        var order = Enumerable.Range(start, end - start).ToList();
        rng.Shuffle(order);
        var chunk = new List<int>(maxNumTokens);
        var target = NextTarget();
        void Emit()
        {
            var tokens = new int[chunk.Count + 2];
            tokens[0] = _vocab.ClsId;
            chunk.CopyTo(tokens, 1);
            tokens[^1] = _vocab.SepId;
            var (ids, positions, labels) = _masker.Mask(tokens, rng);
            output.Add(new PretrainingInstance(ids, tokens.Length, false, positions, labels));
            chunk.Clear();
            target = NextTarget();
        }
        foreach (var d in order)
        {
            // The document boundary, unless the chunk is empty or the separator would end it (no "[SEP] [SEP]" endings).
            if (chunk.Count > 0)
            {
                if (chunk.Count + 1 >= target)
                {
                    Emit();
                }
                else
                {
                    chunk.Add(_vocab.SepId);
                }
            }
            foreach (var sentence in allDocuments[d])
            {
                foreach (var id in sentence)
                {
                    chunk.Add(id);
                    if (chunk.Count >= target)
                    {
                        Emit();
                    }
                }
            }
        }
        if (chunk.Count > 0)
        {
            Emit();
        }
    }

    /// <summary>
    /// Shortens the pair to <paramref name="maxNumTokens"/> by repeatedly dropping a token from the longer side (B on a
    /// tie), from the front or the back with equal probability.
    /// </summary>
    public static void TruncateSeqPair(List<int> tokensA, List<int> tokensB, int maxNumTokens, PretrainingRng rng)
    {
        ArgumentNullException.ThrowIfNull(tokensA);
        ArgumentNullException.ThrowIfNull(tokensB);
        ArgumentNullException.ThrowIfNull(rng);
        // The same draws as google's one-token-at-a-time loop, on counts: removing from the front of a list one token at a
        // time is quadratic, and a sentence of a few million word pieces (a long line without sentence ends) took minutes.
        int aFront = 0, aBack = 0, bFront = 0, bBack = 0;
        while (tokensA.Count - aFront - aBack + tokensB.Count - bFront - bBack > maxNumTokens)
        {
            var fromA = tokensA.Count - aFront - aBack > tokensB.Count - bFront - bBack;
            var front = rng.NextDouble() < 0.5;
            if (fromA && front)
            {
                aFront++;
            }
            else if (fromA)
            {
                aBack++;
            }
            else if (front)
            {
                bFront++;
            }
            else
            {
                bBack++;
            }
        }
        tokensA.RemoveRange(tokensA.Count - aBack, aBack);
        tokensA.RemoveRange(0, aFront);
        tokensB.RemoveRange(tokensB.Count - bBack, bBack);
        tokensB.RemoveRange(0, bFront);
    }

    // A random split point in [1, L-1], preferring positions that start a word (not a "##" piece).
    private int ChooseWordStart(int[] segment, PretrainingRng rng)
    {
        var starts = new List<int>();
        for (var p = 1; p < segment.Length; p++)
        {
            var t = segment[p];
            if ((uint)t >= (uint)_vocab.Size || !_vocab.IsContinuation[t])
            {
                starts.Add(p);
            }
        }
        return starts.Count > 0 ? starts[rng.Below(starts.Count)] : rng.RandInt(1, segment.Length - 1);
    }

    private PretrainingInstance Assemble(List<int> tokensA, List<int> tokensB, bool isRandomNext, PretrainingRng rng)
    {
        var tokens = new int[tokensA.Count + tokensB.Count + 3];
        tokens[0] = _vocab.ClsId;
        tokensA.CopyTo(tokens, 1);
        tokens[tokensA.Count + 1] = _vocab.SepId;
        tokensB.CopyTo(tokens, tokensA.Count + 2);
        tokens[^1] = _vocab.SepId;
        var (output, positions, labels) = _masker.Mask(tokens, rng);
        return new PretrainingInstance(output, tokensA.Count + 2, isRandomNext, positions, labels);
    }
}
