using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BertSharp.Modeling;

/// <summary>dense → activation → LayerNorm before the MLM decoder (HF <c>BertPredictionHeadTransform</c>).</summary>
public sealed class BertPredictionHeadTransform : nn.Module<Tensor, Tensor>
{
// Field names are the HF checkpoint keys (RegisterComponents uses them).
    private readonly Linear dense;
    private readonly LayerNorm LayerNorm;
    private readonly Func<Tensor, Tensor> _act;

    /// <summary>
    /// The dense layer [hidden → hidden], <see cref="BertConfig.HiddenAct"/> and LayerNorm of
    /// <paramref name="config"/>; the weights are TorchSharp's default initialization until the owning model's
    /// <see cref="BertPreTrainedModel.InitWeights"/> or a checkpoint load replaces them.
    /// </summary>
    /// <exception cref="BertSharpException">The config is invalid (<see cref="BertConfig.Validate"/>).</exception>
    public BertPredictionHeadTransform(BertConfig config) : base(nameof(BertPredictionHeadTransform))
    {
        config.Validate();
        dense = nn.Linear(config.HiddenSize, config.HiddenSize);
        _act = Activations.Get(config.HiddenAct);
        LayerNorm = nn.LayerNorm(config.HiddenSize, eps: config.LayerNormEps);
        RegisterComponents();
    }

    /// <summary>
    /// LayerNorm(activation(dense(<paramref name="x"/>))): [..., hidden] → [..., hidden] (usually [batch, seq, hidden],
    /// or [labelled positions, hidden] when pre-training gathers them), in <paramref name="x"/>'s dtype. The caller
    /// owns the result.
    /// </summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return MixedPrecision.LayerNorm(LayerNorm, _act(MixedPrecision.Linear(dense, x))).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// The MLM head (HF <c>BertLMPredictionHead</c>): transform, then a decoder whose weight IS the word-embedding matrix (passed
/// in, never copied) plus its own output bias <c>bias</c>.
/// </summary>
public sealed class BertLMPredictionHead : nn.Module
{
// Field names are the HF checkpoint keys (RegisterComponents uses them).
    private readonly BertPredictionHeadTransform transform;
    private readonly Parameter bias;

    /// <summary>
    /// The transform and a zero output bias [<see cref="BertConfig.VocabSize"/>] for <paramref name="config"/>; the
    /// decoder weight is not held here but passed to <see cref="Forward"/>. The transform's weights are TorchSharp's
    /// default initialization until the owning model's <see cref="BertPreTrainedModel.InitWeights"/> or a checkpoint
    /// load replaces them.
    /// </summary>
    /// <exception cref="BertSharpException">The config is invalid (<see cref="BertConfig.Validate"/>).</exception>
    public BertLMPredictionHead(BertConfig config) : base(nameof(BertLMPredictionHead))
    {
        config.Validate();
        transform = new BertPredictionHeadTransform(config);
        bias = nn.Parameter(zeros(config.VocabSize));
        RegisterComponents();
    }

    /// <summary>The decoder's output bias [vocab] (checkpoint key <c>…predictions.bias</c>).</summary>
    public Parameter OutputBias => bias;

    /// <summary>[batch, seq, hidden] → logits [batch, seq, vocab] through the tied decoder weight [vocab, hidden].</summary>
    public Tensor Forward(Tensor hidden, Tensor decoderWeight)
    {
        using var h = transform.call(hidden);
        return MixedPrecision.Linear(h, decoderWeight, bias);
    }
}

/// <summary>HF <c>BertPreTrainingHeads</c> / <c>BertOnlyMLMHead</c> / <c>BertOnlyNSPHead</c>: the <c>cls.*</c> keys.</summary>
public sealed class BertClsHeads : nn.Module
{
// Field names are the HF checkpoint keys (RegisterComponents uses them).
    private readonly BertLMPredictionHead? predictions;
    private readonly Linear? seq_relationship;

    /// <summary>
    /// The <c>cls.*</c> heads of <paramref name="config"/>: the MLM head (<c>cls.predictions</c>) when
    /// <paramref name="mlm"/>, the NSP classifier [hidden → 2] (<c>cls.seq_relationship</c>) when
    /// <paramref name="nsp"/>. The weights are TorchSharp's default initialization until the owning model's
    /// <see cref="BertPreTrainedModel.InitWeights"/> or a checkpoint load replaces them.
    /// </summary>
    /// <exception cref="BertSharpException">The config is invalid (<see cref="BertConfig.Validate"/>).</exception>
    public BertClsHeads(BertConfig config, bool mlm, bool nsp) : base(nameof(BertClsHeads))
    {
        config.Validate();
        predictions = mlm ? new BertLMPredictionHead(config) : null;
        seq_relationship = nsp ? nn.Linear(config.HiddenSize, 2) : null;
        RegisterComponents();
    }

    /// <summary>MLM logits [batch, seq, vocab].</summary>
    public Tensor Predictions(Tensor sequenceOutput, Tensor decoderWeight) =>
        (predictions ?? throw new InvalidOperationException("this head has no MLM part")).Forward(sequenceOutput, decoderWeight);

    /// <summary>NSP logits [batch, 2] from the pooled output [batch, hidden].</summary>
    public Tensor SeqRelationship(Tensor pooled) =>
        MixedPrecision.Linear(seq_relationship ?? throw new InvalidOperationException("this head has no NSP part"), pooled);
}
