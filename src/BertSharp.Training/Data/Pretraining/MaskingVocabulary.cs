namespace BertSharp.Data.Pretraining;

/// <summary>What masking needs to know about the vocabulary: its size, the special ids and which pieces continue a word.</summary>
internal sealed class MaskingVocabulary
{
    /// <summary>Builds it from the vocabulary's tokens in id order (vocab.txt lines).</summary>
    public MaskingVocabulary(IReadOnlyList<string> tokens)
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
        ClsId = Require(index, "[CLS]");
        SepId = Require(index, "[SEP]");
        MaskId = Require(index, "[MASK]");
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

    private static int Require(Dictionary<string, int> index, string token) =>
        index.TryGetValue(token, out var id) ? id : throw new BertSharpException($"the vocabulary has no {token} token (needed for pre-training data).");
}
