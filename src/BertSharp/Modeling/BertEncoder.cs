using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BertSharp.Modeling;

/// <summary>FFN up-projection with the configured activation (HF <c>BertIntermediate</c>).</summary>
public sealed class BertIntermediate : nn.Module<Tensor, Tensor>
{
// Field names are the HF checkpoint keys (RegisterComponents uses them).
    private readonly Linear dense;
    private readonly Func<Tensor, Tensor> _act;

    /// <summary>
    /// The dense layer [hidden → <see cref="BertConfig.IntermediateSize"/>] and <see cref="BertConfig.HiddenAct"/> of
    /// <paramref name="config"/>; the weights are TorchSharp's default initialization until the owning model's
    /// <see cref="BertPreTrainedModel.InitWeights"/> or a checkpoint load replaces them.
    /// </summary>
    /// <exception cref="BertSharpException">The config is invalid (<see cref="BertConfig.Validate"/>).</exception>
    public BertIntermediate(BertConfig config) : base(nameof(BertIntermediate))
    {
        config.Validate();
        dense = nn.Linear(config.HiddenSize, config.IntermediateSize);
        _act = Activations.Get(config.HiddenAct);
        RegisterComponents();
    }

    /// <summary>[batch, seq, hidden] → [batch, seq, intermediate].</summary>
    public override Tensor forward(Tensor x)
    {
        using var h = MixedPrecision.Linear(dense, x);
        return _act(h);
    }
}

/// <summary>One transformer block: attention, then FFN, each with residual + post-LayerNorm (HF <c>BertLayer</c>).</summary>
public sealed class BertLayer : nn.Module
{
// Field names are the HF checkpoint keys (RegisterComponents uses them).
    private readonly BertAttention attention;
    private readonly BertIntermediate intermediate;
    private readonly BertResidualOutput output;

    /// <summary>
    /// One layer for <paramref name="config"/>; the weights are TorchSharp's default initialization until the owning
    /// model's <see cref="BertPreTrainedModel.InitWeights"/> or a checkpoint load replaces them.
    /// </summary>
    /// <exception cref="BertSharpException">The config is invalid (<see cref="BertConfig.Validate"/>).</exception>
    public BertLayer(BertConfig config) : base(nameof(BertLayer))
    {
        config.Validate();
        attention = new BertAttention(config);
        intermediate = new BertIntermediate(config);
        output = new BertResidualOutput(config.IntermediateSize, config);
        RegisterComponents();
    }

    /// <summary>
    /// Attention then FFN: [batch, seq, hidden] → [batch, seq, hidden], in <paramref name="hidden"/>'s dtype and
    /// device.
    /// </summary>
    /// <param name="hidden">The previous layer's output (or the embeddings) [batch, seq, hidden]; not disposed.</param>
    /// <param name="additiveMask">
    /// Float mask [batch, 1, 1|seq, seq] added to the attention scores (0 keep, the dtype's minimum drop), or null.
    /// </param>
    /// <param name="eager">Use the explicit softmax kernel and return the probabilities; false uses SDPA.</param>
    /// <returns>
    /// The layer's output, and with <paramref name="eager"/> its attention probabilities [batch, heads, seq, seq] (else
    /// null). The caller owns and disposes both.
    /// </returns>
    public (Tensor Hidden, Tensor? Probs) Forward(Tensor hidden, Tensor? additiveMask, bool eager)
    {
        var (attn, probs) = attention.Forward(hidden, additiveMask, eager);
        using var a = attn;
        using var inter = intermediate.call(attn);
        return (output.call(inter, attn), probs);
    }
}

/// <summary>The stack of <see cref="BertLayer"/>s (HF <c>BertEncoder</c>: keys <c>layer.N.*</c>).</summary>
public sealed class BertEncoder : nn.Module
{
// Field names are the HF checkpoint keys (RegisterComponents uses them).
    private readonly ModuleList<BertLayer> layer;

    /// <summary>
    /// <see cref="BertConfig.NumHiddenLayers"/> layers for <paramref name="config"/>; the weights are TorchSharp's
    /// default initialization until the owning model's <see cref="BertPreTrainedModel.InitWeights"/> or a checkpoint
    /// load replaces them.
    /// </summary>
    /// <exception cref="BertSharpException">The config is invalid (<see cref="BertConfig.Validate"/>).</exception>
    public BertEncoder(BertConfig config) : base(nameof(BertEncoder))
    {
        config.Validate();
        layer = nn.ModuleList(Enumerable.Range(0, config.NumHiddenLayers).Select(_ => new BertLayer(config)).ToArray());
        RegisterComponents();
    }

    /// <summary>
    /// Runs every layer. Returns the last hidden state, plus (when asked) the input and each layer's output and each layer's
    /// attention probabilities.
    /// </summary>
    public (Tensor Last, List<Tensor>? Hidden, List<Tensor>? Attentions) Forward(
        Tensor hidden, Tensor? additiveMask, bool eager, bool outputHiddenStates, bool outputAttentions)
    {
        var all = outputHiddenStates ? new List<Tensor> { hidden } : null;
        var attns = outputAttentions ? new List<Tensor>() : null;
        var h = hidden;
        foreach (var l in layer)
        {
            var (next, probs) = l.Forward(h, additiveMask, eager || outputAttentions);
            if (probs is not null)
            {
                if (attns is not null)
                {
                    attns.Add(probs);
                }
                else
                {
                    probs.Dispose();
                }
            }
            if (all is not null)
            {
                all.Add(next);
            }
            else if (!ReferenceEquals(h, hidden))
            {
                h.Dispose();
            }
            h = next;
        }
        return (h, all, attns);
    }
}

/// <summary>tanh(dense(hidden[:, 0])) — the [CLS] summary used by classification and NSP heads (HF <c>BertPooler</c>).</summary>
public sealed class BertPooler : nn.Module<Tensor, Tensor>
{
// Field names are the HF checkpoint keys (RegisterComponents uses them).
    private readonly Linear dense;

    /// <summary>
    /// The dense layer [hidden → hidden] of the pooler for <paramref name="config"/>; the weights are TorchSharp's
    /// default initialization until the owning model's <see cref="BertPreTrainedModel.InitWeights"/> or a checkpoint
    /// load replaces them.
    /// </summary>
    /// <exception cref="BertSharpException">The config is invalid (<see cref="BertConfig.Validate"/>).</exception>
    public BertPooler(BertConfig config) : base(nameof(BertPooler))
    {
        config.Validate();
        dense = nn.Linear(config.HiddenSize, config.HiddenSize);
        RegisterComponents();
    }

    /// <summary>[batch, seq, hidden] → [batch, hidden]: tanh(dense(hidden[:, 0])), the [CLS] token.</summary>
    public override Tensor forward(Tensor hidden)
    {
        using var scope = NewDisposeScope();
        return torch.tanh(MixedPrecision.Linear(dense, hidden.select(1, 0))).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// [batch, seq, hidden] → [batch, hidden]: tanh(dense(mean)), the mean over the positions where
    /// <paramref name="attentionMask"/> [batch, seq] is 1 (all positions without a mask), as sentence-transformers pools.
    /// </summary>
    public Tensor ForwardMean(Tensor hidden, Tensor? attentionMask)
    {
        using var scope = NewDisposeScope();
        Tensor mean;
        if (attentionMask is null)
        {
            mean = hidden.mean([1]);
        }
        else
        {
            if (attentionMask.dim() != 2)
            {
                throw new BertSharpException(
                    $"classifier_pooling mean: expected an attention mask of shape [batch, seq], got [{ShapeText.Join(attentionMask.shape)}].");
            }
            var m = attentionMask.to_type(hidden.dtype).unsqueeze(-1);
            // clamp as sentence-transformers does: an all-padding row gives zeros, not NaN.
            mean = (hidden * m).sum(1) / m.sum(1).clamp_min(StableScalars.Of(1e-9));
        }
        return torch.tanh(MixedPrecision.Linear(dense, mean)).MoveToOuterDisposeScope();
    }
}
