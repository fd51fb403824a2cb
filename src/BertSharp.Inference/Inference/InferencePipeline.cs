using BertSharp.Checkpoints;
using BertSharp.Modeling;
using BertSharp.Runtime;
using BertSharp.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Inference;

/// <summary>
/// Common plumbing of the inference pipelines: the model in eval mode, gradient-free forward passes inside a dispose scope,
/// and one forward pass at a time per model (callers on several threads share a pipeline safely).
/// </summary>
/// <typeparam name="TModel">The model class the pipeline needs.</typeparam>
public abstract class InferencePipeline<TModel> : IDisposable where TModel : BertPreTrainedModel
{
    private readonly bool _ownsModel;
    // A pipeline over a model it does not own leaves the model alive when disposed: without this flag it went on working.
    private bool _disposed;

    /// <param name="model">The model (put into eval mode).</param>
    /// <param name="tokenizer">Its tokenizer.</param>
    /// <param name="ownsModel">Whether <see cref="Dispose()"/> disposes the model.</param>
    protected InferencePipeline(TModel model, BertTokenizer tokenizer, bool ownsModel)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        BertPretrained.CheckVocabulary(tokenizer, model.Config, "tokenizer", "the model's vocab_size");
        TorchRuntime.EnsureLoaded();
        Model = model;
        Tokenizer = tokenizer;
        _ownsModel = ownsModel;
        Device = InferenceBatch.DeviceOf(model);
        lock (model)
        {
            model.eval();
        }
    }

    /// <summary>The model.</summary>
    public TModel Model { get; }

    /// <summary>The tokenizer.</summary>
    public BertTokenizer Tokenizer { get; }

    /// <summary>Where the model lives.</summary>
    public Device Device { get; }

    /// <summary>The model's trained length (<see cref="ModelLength.Trained"/>): inputs are cut here unless a longer length is asked for.</summary>
    public int ModelMaxLength => ModelLength.Trained(Model.Config, Tokenizer);

    /// <summary>
    /// Runs <paramref name="forward"/> without autograd, under the model's lock, inside a dispose scope: tensors it creates are
    /// freed when it returns, so it must return managed values.
    /// </summary>
    protected T Run<T>(Func<T> forward)
    {
        ArgumentNullException.ThrowIfNull(forward);
        ObjectDisposedException.ThrowIf(_disposed, this);
        // All pipelines over one model share its monitor: a server may run NER and embeddings on the same weights.
        lock (Model)
        {
            using var noGrad = torch.no_grad();
            using var scope = NewDisposeScope();
            return forward();
        }
    }

    /// <summary>
    /// Loads <typeparamref name="TModel"/> and its tokenizer from a model directory onto <paramref name="device"/>, refusing a
    /// checkpoint that lacks the weights <see cref="RequiredWeights"/> lists for it (a freshly initialised head would answer
    /// with noise). config.json's architectures are not checked: a pre-training checkpoint has the masked-LM and
    /// next-sentence heads alike.
    /// </summary>
    /// <param name="modelDirectory">An HF model directory.</param>
    /// <param name="device">"auto", "cpu" or "cuda".</param>
    private protected static (TModel Model, BertTokenizer Tokenizer) LoadRequiring(string modelDirectory, string device)
    {
        var (prefixes, what) = RequiredWeights.For(typeof(TModel).Name);
        return LoadFor(modelDirectory, device, prefixes, what, architecture: null);
    }

    private static (TModel Model, BertTokenizer Tokenizer) LoadFor(string modelDirectory, string device, string[] needed, string what, string? architecture)
    {
        TorchRuntime.EnsureLoaded();
        var config = BertPretrained.LoadConfig(modelDirectory, out var dir);
        if (architecture is not null)
        {
            RequiredWeights.CheckFineTunedFor(config, architecture, modelDirectory);
        }
        return TypedModelNames.Load(modelDirectory, dir, () =>
        {
            // The resolved directory: a Hub id is no directory of its own.
            var tokenizer = BertPretrained.LoadTokenizer(dir, config);
            var model = BertPretrained.Load<TModel>(dir, config, out var report);
            try
            {
                RequiredWeights.Check(report, needed, what, modelDirectory);
                model.to(TorchRuntime.ResolveDevice(device));
            }
            catch
            {
                model.Dispose();
                throw;
            }
            return (model, tokenizer);
        });
    }

    /// <summary>
    /// The length inputs are cut to: <paramref name="requested"/> (up to max_position_embeddings, see <see cref="ModelLength"/>),
    /// else the model's trained length.
    /// </summary>
    protected int EffectiveMaxLength(int? requested) => Math.Min(requested ?? ModelMaxLength, Model.Config.MaxPositionEmbeddings);

    /// <summary>
    /// Loads with the checks of <see cref="RequiredWeights"/> for <typeparamref name="TModel"/>: config.json's architectures
    /// (when it has any) must include it, and the checkpoint must have its head.
    /// </summary>
    private protected static (TModel Model, BertTokenizer Tokenizer) LoadChecked(string modelDirectory, string device)
    {
        var (prefixes, what) = RequiredWeights.For(typeof(TModel).Name);
        return LoadFor(modelDirectory, device, prefixes, what, typeof(TModel).Name);
    }

    /// <summary>
    /// Ends the pipeline: later calls throw <see cref="ObjectDisposedException"/>. The model is disposed too when the
    /// pipeline owns it (a <c>Load</c> method made it); a model passed in with <c>ownsModel</c> false stays usable.
    /// </summary>
    public void Dispose()
    {
        _disposed = true;
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>
    /// Frees what the pipeline owns: the model when <paramref name="disposing"/> and the pipeline owns it. A derived
    /// pipeline that holds more (an ONNX Runtime session) overrides it and calls the base.
    /// </summary>
    /// <param name="disposing">
    /// True from <see cref="Dispose()"/>; false from a finalizer, when managed objects must not be touched.
    /// </param>
    protected virtual void Dispose(bool disposing)
    {
        if (disposing && _ownsModel)
        {
            Model.Dispose();
        }
    }
}
