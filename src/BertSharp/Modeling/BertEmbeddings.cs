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

    /// <summary>
    /// The word [<see cref="BertConfig.VocabSize"/>, hidden] (row <see cref="BertConfig.PadTokenId"/> gets no
    /// gradient), position [<see cref="BertConfig.MaxPositionEmbeddings"/>, hidden] and segment
    /// [<see cref="BertConfig.TypeVocabSize"/>, hidden] tables of <paramref name="config"/>; the weights are
    /// TorchSharp's default initialization until the owning model's <see cref="BertPreTrainedModel.InitWeights"/> or a
    /// checkpoint load replaces them.
    /// </summary>
    /// <exception cref="BertSharpException">The config is invalid (<see cref="BertConfig.Validate"/>).</exception>
    public BertEmbeddings(BertConfig config) : base(nameof(BertEmbeddings))
    {
        config.Validate();
        word_embeddings = nn.Embedding(config.VocabSize, config.HiddenSize, padding_idx: config.PadTokenId);
        position_embeddings = nn.Embedding(config.MaxPositionEmbeddings, config.HiddenSize);
        token_type_embeddings = nn.Embedding(config.TypeVocabSize, config.HiddenSize);
        LayerNorm = nn.LayerNorm(config.HiddenSize, eps: config.LayerNormEps);
        dropout = nn.Dropout(config.HiddenDropoutProb);
        MaxPositions = config.MaxPositionEmbeddings;
        VocabSize = config.VocabSize;
        TypeVocabSize = config.TypeVocabSize;
        RegisterComponents();
    }

    private int MaxPositions { get; }

    private int VocabSize { get; }

    private int TypeVocabSize { get; }

    /// <summary>The word embedding matrix [vocab, hidden]; the MLM decoder shares it.</summary>
    public Parameter WordEmbeddingWeight => word_embeddings.weight!;

    /// <summary>Embeds ids [batch, seq] (defaults: segment 0, positions 0..seq-1) into [batch, seq, hidden].</summary>
    public Tensor Forward(Tensor inputIds, Tensor? tokenTypeIds = null, Tensor? positionIds = null)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        var seq = CheckInputs(inputIds, tokenTypeIds, positionIds);
        using var scope = NewDisposeScope();
        positionIds ??= StableScalars.Range(seq, ScalarType.Int64, inputIds.device).unsqueeze(0);
        tokenTypeIds ??= zeros_like(inputIds);
        // HF order: (word + segment) + position.
        var embeddings = StableScalars.Add(word_embeddings.call(inputIds), token_type_embeddings.call(tokenTypeIds));
        embeddings = StableScalars.Add(embeddings, position_embeddings.call(positionIds));
        return ExampleDropout.Apply(dropout, LayerNorm.call(embeddings)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Refuses, naming the input, what libtorch would reject with "index out of range in self" (or, on a GPU, a device-side
    /// assert that poisons the context): shapes, index dtypes and ids outside their embedding tables. Returns seq.
    /// </summary>
    private long CheckInputs(Tensor inputIds, Tensor? tokenTypeIds, Tensor? positionIds)
    {
        if (inputIds.dim() != 2)
        {
            throw new BertSharpException($"input_ids: expected shape [batch, seq], got {Shape(inputIds)}.");
        }
        CheckIndexDtype(inputIds, "input_ids");
        var seq = inputIds.shape[1];
        if (seq == 0)
        {
            throw new BertSharpException($"input_ids: shape {Shape(inputIds)} has no tokens; expected at least one per sequence.");
        }
        if (seq > MaxPositions)
        {
            throw new BertSharpException(Invariant($"sequence length {seq} exceeds max_position_embeddings {MaxPositions}."));
        }
        if (tokenTypeIds is not null)
        {
            CheckIndexDtype(tokenTypeIds, "token_type_ids");
            if (!tokenTypeIds.shape.SequenceEqual(inputIds.shape))
            {
                throw new BertSharpException($"token_type_ids: shape {Shape(tokenTypeIds)} differs from input_ids {Shape(inputIds)}; expected the same shape.");
            }
        }
        if (positionIds is not null)
        {
            CheckIndexDtype(positionIds, "position_ids");
            // HF broadcasts position_ids over the batch; any other shape reached libtorch's "The size of tensor a (5) must
            // match the size of tensor b (4)", which names no input.
            var batchFits = positionIds.dim() == 1 || (positionIds.dim() == 2 && (positionIds.shape[0] == 1 || positionIds.shape[0] == inputIds.shape[0]));
            if (!batchFits || positionIds.shape[^1] != seq)
            {
                throw new BertSharpException(
                    $"position_ids: shape {Shape(positionIds)} does not fit input_ids {Shape(inputIds)}; expected [batch, seq], [1, seq] or [seq].");
            }
        }
        if (inputIds.numel() == 0)
        {
            return seq;
        }
        // One min/max reduction per input on the device and a single copy of those few scalars to the host: the cost is
        // one small kernel and one synchronisation per forward pass, however large the batch.
        using var scope = NewDisposeScope();
        var bounds = new List<Tensor> { inputIds.min(), inputIds.max() };
        if (tokenTypeIds is not null)
        {
            bounds.Add(tokenTypeIds.min());
            bounds.Add(tokenTypeIds.max());
        }
        if (positionIds is not null && positionIds.numel() > 0)
        {
            bounds.Add(positionIds.min());
            bounds.Add(positionIds.max());
        }
        var values = stack(bounds.Select(b => b.to_type(ScalarType.Int64))).cpu().data<long>().ToArray();
        CheckRange("input_ids", "id", values[0], values[1], VocabSize, "vocab_size");
        if (tokenTypeIds is not null)
        {
            CheckRange("token_type_ids", "type id", values[2], values[3], TypeVocabSize, "type_vocab_size");
        }
        if (values.Length > (tokenTypeIds is null ? 2 : 4))
        {
            CheckRange("position_ids", "position", values[^2], values[^1], MaxPositions, "max_position_embeddings");
        }
        return seq;
    }

    private static void CheckIndexDtype(Tensor t, string name)
    {
        if (t.dtype is not (ScalarType.Int64 or ScalarType.Int32))
        {
            throw new BertSharpException($"{name}: dtype {t.dtype}; expected integer indices (Int64 or Int32).");
        }
    }

    private static void CheckRange(string name, string what, long min, long max, long size, string sizeName)
    {
        if (min < 0 || max >= size)
        {
            throw new BertSharpException(Invariant($"{name}: {what} {(min < 0 ? min : max)} is outside [0, {size}) ({sizeName} {size})."));
        }
    }

    private static string Shape(Tensor t) => $"[{ShapeText.Join(t.shape)}]";
}
