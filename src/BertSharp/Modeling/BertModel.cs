using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BertSharp.Modeling;

/// <summary>
/// The bare BERT encoder (HF <c>BertModel</c>): embeddings, encoder, optional pooler. Parameter names equal HF checkpoint
/// keys without the <c>bert.</c> prefix (<c>embeddings.word_embeddings.weight</c>, <c>encoder.layer.0.attention.self.query.weight</c>, …).
/// </summary>
public sealed class BertModel : BertPreTrainedModel
{
// Field names are the HF checkpoint keys (RegisterComponents uses them).
    private readonly BertEmbeddings embeddings;
    private readonly BertEncoder encoder;
    private readonly BertPooler? pooler;

    /// <summary>
    /// Builds the encoder for <paramref name="config"/>, which the model keeps (not a copy), with the pooler when
    /// <paramref name="addPoolingLayer"/> (needed for <see cref="BertModelOutput.PoolerOutput"/>). The weights are
    /// TorchSharp's default initialization (not HF's: <see cref="BertPretrained.Create"/> applies that, a load replaces
    /// them).
    /// </summary>
    /// <exception cref="BertSharpException">The config is invalid (<see cref="BertConfig.Validate"/>).</exception>
    public BertModel(BertConfig config, bool addPoolingLayer = true) : base(nameof(BertModel), config)
    {
        embeddings = new BertEmbeddings(config);
        encoder = new BertEncoder(config);
        pooler = addPoolingLayer ? new BertPooler(config) : null;
        RegisterComponents();
    }

    /// <summary>Whether this model has the pooler (heads that do not use it are built without one, as in HF).</summary>
    public bool HasPooler => pooler is not null;

    /// <summary>The word embedding matrix [vocab, hidden], shared with the MLM decoder.</summary>
    public Parameter WordEmbeddingWeight => embeddings.WordEmbeddingWeight;

    /// <summary>Runs the encoder; see <see cref="BertInput"/> for the input shapes.</summary>
    /// <exception cref="ObjectDisposedException">The model, or the head it belongs to, has been disposed.</exception>
    public BertModelOutput Forward(BertInput input, bool outputHiddenStates = false, bool outputAttentions = false)
    {
        ArgumentNullException.ThrowIfNull(input);
        // Past Dispose, TorchSharp's own refusal named its handle class ('TorchSharp.torch+nn+Module+HType'), not the model.
        ThrowIfDisposed();
        var ids = input.InputIds ?? throw new ArgumentException("input_ids is null; expected ids [batch, seq].", nameof(input));
        if (ids.dim() != 2)
        {
            throw new BertSharpException($"input_ids: expected shape [batch, seq], got [{ShapeText.Join(ids.shape)}].");
        }
        if (input.AttentionMask is { } am && !MaskFits(am, ids))
        {
            throw new BertSharpException(
                $"attention_mask: shape [{ShapeText.Join(am.shape)}] does not fit input_ids [{ShapeText.Join(ids.shape)}]; expected [batch, seq] or [batch, seq, seq].");
        }
        using var scope = NewDisposeScope();
        var embedded = embeddings.Forward(ids, input.TokenTypeIds, input.PositionIds);
        Tensor? mask = null;
        if (input.AttentionMask is { } m)
        {
            // HF get_extended_attention_mask: (1 - mask) * finfo(dtype).min, broadcast over heads (and queries for a
            // [batch, seq] mask; a [batch, query, key] mask is used as given).
            var floatMask = m.dim() == 2 ? m.to_type(embedded.dtype).unsqueeze(1).unsqueeze(2) : m.to_type(embedded.dtype).unsqueeze(1);
            mask = StableScalars.AdditiveMask(floatMask);
        }
        var eager = Config.AttnImplementation == "eager";
        var (last, hidden, attns) = encoder.Forward(embedded, mask, eager, outputHiddenStates, outputAttentions);
        var pooled = pooler is null ? null : Config.MeanPooling ? pooler.ForwardMean(last, input.AttentionMask) : pooler.call(last);
        // The last hidden state is also the last entry of the hidden-state list: move each tensor out exactly once.
        var moved = new HashSet<IntPtr>();
        Tensor Keep(Tensor t)
        {
            if (moved.Add(t.Handle))
            {
                t.MoveToOuterDisposeScope();
            }
            return t;
        }
        return new BertModelOutput(Keep(last), pooled is null ? null : Keep(pooled),
            hidden?.Select(Keep).ToList(), attns?.Select(Keep).ToList());
    }

    private static bool MaskFits(Tensor mask, Tensor ids) => mask.dim() switch
    {
        2 => mask.shape[0] == ids.shape[0] && mask.shape[1] == ids.shape[1],
        3 => mask.shape[0] == ids.shape[0] && mask.shape[1] == ids.shape[1] && mask.shape[2] == ids.shape[1],
        _ => false,
    };

    /// <summary>Runs the encoder on ids [batch, seq] with optional mask and segment ids.</summary>
    public BertModelOutput Forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? tokenTypeIds = null,
        bool outputHiddenStates = false, bool outputAttentions = false) =>
        Forward(new BertInput(inputIds, attentionMask, tokenTypeIds), outputHiddenStates, outputAttentions);

    /// <inheritdoc />
    public override BertModel Bert => this;
}
