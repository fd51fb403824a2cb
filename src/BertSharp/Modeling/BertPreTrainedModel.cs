using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BertSharp.Modeling;

/// <summary>
/// Common base of <see cref="BertModel"/> and every head: the config, HF's weight initialisation, and the naming rules the
/// checkpoint loader needs (the <c>bert.</c> prefix and tied parameters).
/// </summary>
public abstract class BertPreTrainedModel : nn.Module
{
    /// <summary>Prefix of the encoder's keys inside head models (HF <c>base_model_prefix</c>).</summary>
    public const string BaseModelPrefix = "bert";

    /// <summary>
    /// Validates and keeps <paramref name="config"/> (not a copy) for a model whose TorchSharp module name is
    /// <paramref name="name"/> (the class name).
    /// </summary>
    /// <exception cref="BertSharpException">The config is invalid (<see cref="BertConfig.Validate"/>).</exception>
    protected BertPreTrainedModel(string name, BertConfig config) : base(name)
    {
        config.Validate();
        Config = config;
    }

    // TorchSharp's Module keeps no disposed state a caller can ask for; after Dispose it just lists no parameters, which a save
    // would write as an empty checkpoint.
    private bool _disposed;

    /// <summary>The configuration the model was built from.</summary>
    public BertConfig Config { get; }

    /// <summary>The encoder (for <see cref="BertModel"/> itself: this).</summary>
    public abstract BertModel Bert { get; }

    /// <summary>
    /// Checkpoint keys that are other names of one of this model's parameters (HF's tied weights: the MLM decoder's weight is
    /// the word-embedding matrix, its bias is <c>cls.predictions.bias</c>). They are accepted on load and not written on save.
    /// </summary>
    public virtual IReadOnlyDictionary<string, string> TiedKeys { get; } = new Dictionary<string, string>();

    /// <summary>Throws <see cref="ObjectDisposedException"/> once the model (or a model it belongs to) has been disposed.</summary>
    internal void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    /// <summary>
    /// Frees the native parameters and buffers and marks the model disposed: a later forward pass throws
    /// <see cref="ObjectDisposedException"/> naming the model's class.
    /// </summary>
    protected override void Dispose(bool disposing)
    {
        _disposed = true;
        base.Dispose(disposing);
    }

    /// <summary>The parameters with their checkpoint keys, each parameter once.</summary>
    public IReadOnlyList<(string Name, Parameter Param)> NamedParameters() =>
        [.. named_parameters().GroupBy(p => p.parameter.Handle).Select(g => (g.First().name, g.First().parameter))];

    /// <summary>
    /// HF <c>_init_weights</c>: Linear and Embedding weights ~ N(0, initializer_range), biases 0, the padding row of the word
    /// embeddings 0, LayerNorm weight 1 and bias 0; the MLM output bias 0. With <paramref name="only"/>, just those parameters
    /// (checkpoint keys) are initialised — what a load does for weights the checkpoint lacks.
    /// </summary>
    public void InitWeights(Generator? generator = null, IReadOnlySet<string>? only = null)
    {
        var std = Config.InitializerRange;
        bool Wanted(string module, string param) => only is null || only.Contains(module.Length == 0 ? param : module + "." + param);
        using var noGrad = torch.no_grad();
        foreach (var (name, module) in named_modules())
        {
            switch (module)
            {
                case Linear lin:
                    if (Wanted(name, "weight"))
                    {
                        lin.weight!.normal_(0, std, generator);
                    }
                    if (lin.bias is not null && Wanted(name, "bias"))
                    {
                        lin.bias.zero_();
                    }
                    break;
                case Embedding emb when Wanted(name, "weight"):
                    emb.weight!.normal_(0, std, generator);
                    if (name == "embeddings.word_embeddings" || name == BaseModelPrefix + ".embeddings.word_embeddings")
                    {
                        using var padRow = emb.weight[Config.PadTokenId];
                        padRow.zero_();
                    }
                    break;
                case LayerNorm ln:
                    if (Wanted(name, "weight"))
                    {
                        ln.weight!.fill_(StableScalars.Of(1.0));
                    }
                    if (Wanted(name, "bias"))
                    {
                        ln.bias!.zero_();
                    }
                    break;
                case BertLMPredictionHead head when Wanted(name, "bias"):
                    head.OutputBias.zero_();
                    break;
            }
        }
    }
}
