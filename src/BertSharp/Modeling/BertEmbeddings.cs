using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BertSharp.Modeling;

/// <summary>Token + segment + absolute position embeddings, then LayerNorm and dropout (HF <c>BertEmbeddings</c>).</summary>
public sealed class BertEmbeddings : nn.Module
{
// Field names are the HF checkpoint keys (RegisterComponents uses them).
    internal readonly Embedding word_embeddings;
    internal readonly Embedding position_embeddings;
    internal readonly Embedding token_type_embeddings;
    internal readonly LayerNorm LayerNorm;
    private readonly Dropout dropout;

    public BertEmbeddings(BertConfig config) : base(nameof(BertEmbeddings))
    {
        word_embeddings = nn.Embedding(config.VocabSize, config.HiddenSize, padding_idx: config.PadTokenId);
        position_embeddings = nn.Embedding(config.MaxPositionEmbeddings, config.HiddenSize);
        token_type_embeddings = nn.Embedding(config.TypeVocabSize, config.HiddenSize);
        LayerNorm = nn.LayerNorm(config.HiddenSize, eps: config.LayerNormEps);
        dropout = nn.Dropout(config.HiddenDropoutProb);
        MaxPositions = config.MaxPositionEmbeddings;
        RegisterComponents();
    }

    private int MaxPositions { get; }

    /// <summary>The word embedding matrix [vocab, hidden]; the MLM decoder shares it.</summary>
    public Parameter WordEmbeddingWeight => word_embeddings.weight!;

    /// <summary>Embeds ids [batch, seq] (defaults: segment 0, positions 0..seq-1) into [batch, seq, hidden].</summary>
    public Tensor Forward(Tensor inputIds, Tensor? tokenTypeIds = null, Tensor? positionIds = null)
    {
        var seq = inputIds.shape[1];
        if (seq > MaxPositions)
        {
            throw new BertSharpException($"sequence length {seq} exceeds max_position_embeddings {MaxPositions}.");
        }
        using var scope = NewDisposeScope();
        positionIds ??= StableScalars.Range(seq, ScalarType.Int64, inputIds.device).unsqueeze(0);
        tokenTypeIds ??= zeros_like(inputIds);
        // HF order: (word + segment) + position.
        var embeddings = StableScalars.Add(word_embeddings.call(inputIds), token_type_embeddings.call(tokenTypeIds));
        embeddings = StableScalars.Add(embeddings, position_embeddings.call(positionIds));
        return ExampleDropout.Apply(dropout, LayerNorm.call(embeddings)).MoveToOuterDisposeScope();
    }
}
