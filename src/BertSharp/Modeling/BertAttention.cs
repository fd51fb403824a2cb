using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BertSharp.Modeling;

/// <summary>Multi-head self-attention projections and kernel (HF <c>BertSelfAttention</c> / <c>BertSdpaSelfAttention</c>).</summary>
public sealed class BertSelfAttention : nn.Module
{
// Field names are the HF checkpoint keys (RegisterComponents uses them).
    private readonly Linear query;
    private readonly Linear key;
    private readonly Linear value;
    private readonly Dropout dropout;
    private readonly int _heads;
    private readonly int _headDim;
    private readonly double _dropoutP;

    /// <summary>
    /// The query, key and value projections [hidden → hidden] of <paramref name="config"/>'s
    /// <see cref="BertConfig.NumAttentionHeads"/> heads, with <see cref="BertConfig.AttentionProbsDropoutProb"/>
    /// dropout; the weights are TorchSharp's default initialization until the owning model's
    /// <see cref="BertPreTrainedModel.InitWeights"/> or a checkpoint load replaces them.
    /// </summary>
    /// <exception cref="BertSharpException">The config is invalid (<see cref="BertConfig.Validate"/>).</exception>
    public BertSelfAttention(BertConfig config) : base(nameof(BertSelfAttention))
    {
        // Every public module checks the config it is given, not only the models: a hidden size that the heads do not
        // divide failed here only at the first forward pass, as a raw TorchSharp shape error.
        config.Validate();
        _heads = config.NumAttentionHeads;
        _headDim = config.HeadDim;
        _dropoutP = config.AttentionProbsDropoutProb;
        query = nn.Linear(config.HiddenSize, config.HiddenSize);
        key = nn.Linear(config.HiddenSize, config.HiddenSize);
        value = nn.Linear(config.HiddenSize, config.HiddenSize);
        dropout = nn.Dropout(config.AttentionProbsDropoutProb);
        RegisterComponents();
    }

    /// <summary>
    /// Attends [batch, seq, hidden] with an additive mask [batch, 1, 1|seq, seq] (0 keep, finfo.min drop). Eager mode returns the
    /// probabilities [batch, heads, seq, seq] as well; SDPA mode returns null for them.
    /// </summary>
    public (Tensor Context, Tensor? Probs) Forward(Tensor hidden, Tensor? additiveMask, bool eager)
    {
        using var scope = NewDisposeScope();
        var (b, s) = (hidden.shape[0], hidden.shape[1]);
        var q = Split(MixedPrecision.Linear(query, hidden), b, s);
        var k = Split(MixedPrecision.Linear(key, hidden), b, s);
        var v = Split(MixedPrecision.Linear(value, hidden), b, s);
        Tensor context;
        Tensor? probs = null;
        // SDPA draws its own dropout mask; the keyed per-example mask needs the eager kernel.
        if (eager || (training && _dropoutP > 0 && ExampleDropout.Active))
        {
            // HF eager order: (q @ k^T) / sqrt(d) + mask, softmax, dropout, @ v.
            var scores = StableScalars.Divide(MixedPrecision.MatMul(q, k.transpose(-1, -2)), Math.Sqrt(_headDim));
            if (additiveMask is not null)
            {
                scores = StableScalars.Add(scores, additiveMask);
            }
            probs = MixedPrecision.Softmax(scores);
            context = MixedPrecision.MatMul(ExampleDropout.Apply(dropout, probs), v);
            if (!eager)
            {
                probs = null;
            }
        }
        else
        {
            context = MixedPrecision.Attention(q, k, v, additiveMask, training ? _dropoutP : 0.0);
        }
        var merged = context.permute(0, 2, 1, 3).contiguous().reshape(b, s, _heads * _headDim);
        return (merged.MoveToOuterDisposeScope(), probs?.MoveToOuterDisposeScope());
    }

    private Tensor Split(Tensor x, long b, long s) => x.view(b, s, _heads, _headDim).permute(0, 2, 1, 3);
}

/// <summary>Output projection + residual + LayerNorm, used after attention (HF <c>BertSelfOutput</c>) and after the FFN (<c>BertOutput</c>).</summary>
public sealed class BertResidualOutput : nn.Module<Tensor, Tensor, Tensor>
{
// Field names are the HF checkpoint keys (RegisterComponents uses them).
    private readonly Linear dense;
    private readonly LayerNorm LayerNorm;
    private readonly Dropout dropout;

    /// <summary>
    /// The block for inputs of <paramref name="inFeatures"/> features (<see cref="BertConfig.HiddenSize"/> after
    /// attention, <see cref="BertConfig.IntermediateSize"/> after the FFN), projecting to
    /// <see cref="BertConfig.HiddenSize"/>; the weights are TorchSharp's default initialization until the owning
    /// model's <see cref="BertPreTrainedModel.InitWeights"/> or a checkpoint load replaces them.
    /// </summary>
    /// <exception cref="BertSharpException">The config is invalid (<see cref="BertConfig.Validate"/>).</exception>
    public BertResidualOutput(int inFeatures, BertConfig config) : base(nameof(BertResidualOutput))
    {
        config.Validate();
        dense = nn.Linear(inFeatures, config.HiddenSize);
        LayerNorm = nn.LayerNorm(config.HiddenSize, eps: config.LayerNormEps);
        dropout = nn.Dropout(config.HiddenDropoutProb);
        RegisterComponents();
    }

    /// <summary>LayerNorm(dropout(dense(x)) + residual); x [batch, seq, in], residual [batch, seq, hidden].</summary>
    public override Tensor forward(Tensor x, Tensor residual)
    {
        using var scope = NewDisposeScope();
        // Under bf16 the sum with the float32 residual is float32 (type promotion), as under autocast.
        return MixedPrecision.LayerNorm(LayerNorm, StableScalars.Add(ExampleDropout.Apply(dropout, MixedPrecision.Linear(dense, x)), residual)).MoveToOuterDisposeScope();
    }
}

/// <summary>Self-attention plus its output block (HF <c>BertAttention</c>: keys <c>self.*</c>, <c>output.*</c>).</summary>
public sealed class BertAttention : nn.Module
{
// Field names are the HF checkpoint keys (RegisterComponents uses them).
    [TorchSharp.Utils.ComponentName(Name = "self")]
    private readonly BertSelfAttention self_;
    private readonly BertResidualOutput output;

    /// <summary>
    /// Self-attention and its output block for <paramref name="config"/>; the weights are TorchSharp's default
    /// initialization until the owning model's <see cref="BertPreTrainedModel.InitWeights"/> or a checkpoint load
    /// replaces them.
    /// </summary>
    /// <exception cref="BertSharpException">The config is invalid (<see cref="BertConfig.Validate"/>).</exception>
    public BertAttention(BertConfig config) : base(nameof(BertAttention))
    {
        config.Validate();
        self_ = new BertSelfAttention(config);
        output = new BertResidualOutput(config.HiddenSize, config);
        RegisterComponents();
    }

    /// <summary>
    /// LayerNorm(dense(self-attention(<paramref name="hidden"/>)) + <paramref name="hidden"/>): [batch, seq, hidden] →
    /// [batch, seq, hidden], in <paramref name="hidden"/>'s dtype and device.
    /// </summary>
    /// <param name="hidden">The layer's input [batch, seq, hidden].</param>
    /// <param name="additiveMask">
    /// Float mask [batch, 1, 1|seq, seq] added to the scores (0 keep, the dtype's minimum drop), or null to attend
    /// everywhere.
    /// </param>
    /// <param name="eager">Use the explicit softmax kernel and return the probabilities; false uses SDPA.</param>
    /// <returns>
    /// The new hidden state, and with <paramref name="eager"/> the attention probabilities [batch, heads, seq, seq]
    /// (else null). The caller owns and disposes both.
    /// </returns>
    public (Tensor Hidden, Tensor? Probs) Forward(Tensor hidden, Tensor? additiveMask, bool eager)
    {
        // The scope also frees the probabilities when the output block throws: the caller never receives them.
        using var scope = NewDisposeScope();
        var (context, probs) = self_.Forward(hidden, additiveMask, eager);
        return (output.call(context, hidden).MoveToOuterDisposeScope(), probs?.MoveToOuterDisposeScope());
    }
}
