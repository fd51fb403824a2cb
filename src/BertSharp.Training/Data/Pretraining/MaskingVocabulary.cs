namespace BertSharp.Data.Pretraining;

/// <summary>What masking needs to know about the vocabulary: its size, the special ids and which pieces continue a word.</summary>
internal sealed class MaskingVocabulary
{
    /// <summary>Builds it from the vocabulary's tokens in id order (vocab.txt lines).</summary>
    /// <param name="tokens">The tokens in id order.</param>
    /// <param name="vocabPath">The file they were read from, named by a refusal; null when they came from no file.</param>
    /// <exception cref="BertSharpException">
    /// <c>[CLS]</c>, <c>[SEP]</c> or <c>[MASK]</c> is missing (a <see cref="IO.PathException"/> when <paramref name="vocabPath"/> is given).
    /// </exception>
    public MaskingVocabulary(IReadOnlyList<string> tokens, string? vocabPath = null)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        Size = tokens.Count;
        IsContinuation = new bool[Size];
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < Size; i++)
        {
            IsContinuation[i] = tokens[i].StartsWith("##", StringComparison.Ordinal);
            index.TryAdd(tokens[i], i);
        }
        ClsId = Require(index, "[CLS]", vocabPath);
        SepId = Require(index, "[SEP]", vocabPath);
        MaskId = Require(index, "[MASK]", vocabPath);
        PadId = index.TryGetValue("[PAD]", out var pad) ? pad : 0;
    }

    /// <summary>Vocabulary size; random replacements are drawn uniformly from [0, Size), as google does.</summary>
    public int Size { get; }

    public int ClsId { get; }

    public int SepId { get; }

    public int MaskId { get; }

    public int PadId { get; }

    /// <summary>True for <c>##</c> pieces; whole-word masking groups them with the piece before.</summary>
    public bool[] IsContinuation { get; }

    private static int Require(Dictionary<string, int> index, string token, string? vocabPath)
    {
        if (index.TryGetValue(token, out var id))
        {
            return id;
        }
        var problem = $"the vocabulary has no {token} token (needed for pre-training data).";
        // A path's problem, so that the CLI names the file as the user typed it.
        throw vocabPath is null ? new BertSharpException(problem) : new IO.PathException(vocabPath, problem);
    }
}
