using System.CommandLine;
using BertSharp.Inference;

namespace BertSharp.Cli.Commands;

/// <summary><c>--backend torch|onnxruntime</c>, <c>--onnx FILE</c> and <c>--ort-threads N</c> (predict, embed, zero-shot, rerank, serve).</summary>
internal sealed class BackendOptions
{
    public Option<string> Backend { get; } = new("--backend")
    {
        Description = "Engine of the forward pass: torch (TorchSharp) or onnxruntime (ONNX Runtime over --onnx, default MODEL/model.onnx from 'bert export-onnx'; a Hub id needs --onnx).",
        DefaultValueFactory = _ => "torch",
    };

    public Option<string?> Onnx { get; } = new("--onnx") { Description = "With --backend onnxruntime: the ONNX graph to run." };

    public Option<int> Threads { get; } = new("--ort-threads") { Description = "With --backend onnxruntime: intra-op threads (0 = one per core).", DefaultValueFactory = _ => 0 };

    public IEnumerable<Option> All => [Backend, Onnx, Threads];

    /// <summary>Refuses the ONNX Runtime options for a model whose pipeline runs on TorchSharp only (<paramref name="what"/>).</summary>
    public void RequireTorch(ParseResult p, string what)
    {
        var given = new Option[] { Backend, Onnx, Threads }.FirstOrDefault(o => CommonOptions.Given(p, o) && (o != Backend || p.GetValue(Backend) is not ("torch" or "torchsharp")));
        if (given is not null)
        {
            throw new BertSharpException($"{given.Name}: {what} runs on TorchSharp only (ONNX Runtime runs classifiers and embeddings).");
        }
    }

    /// <summary>
    /// The backend the options name. <paramref name="device"/>: the command's --device when every forward pass it makes runs
    /// on the backend (predict, embed, zero-shot, rerank): ONNX Runtime runs on the CPU, so another device is refused instead of being ignored.
    /// </summary>
    public InferenceBackend Resolve(ParseResult p, string modelDirectory, Option<string>? device = null)
    {
        var engine = InferenceBackend.Parse(p.GetValue(Backend)!, modelDirectory, p.GetValue(Onnx), CommonOptions.CheckThreads(p.GetValue(Threads), Threads.Name, zeroIsDefault: true));
        if (!engine.IsOnnxRuntime && CommonOptions.Given(p, Threads))
        {
            throw new BertSharpException($"{Threads.Name}: only with {Backend.Name} onnxruntime.");
        }
        if (engine.IsOnnxRuntime && device is not null && CommonOptions.Given(p, device) && p.GetValue(device) is { } d
            && !d.Trim().Equals("auto", StringComparison.OrdinalIgnoreCase) && !d.Trim().Equals("cpu", StringComparison.OrdinalIgnoreCase))
        {
            throw new BertSharpException($"{device.Name} {d}: {Backend.Name} onnxruntime runs on the CPU; expected cpu or auto.");
        }
        return engine;
    }

    /// <summary>
    /// Loads <paramref name="model"/> on the backend the options name (<see cref="Resolve"/>, <paramref name="device"/> checked
    /// against it): <paramref name="onnx"/> with ONNX Runtime, else <paramref name="torch"/> on the --device given.
    /// </summary>
    public T Load<T>(ParseResult p, string model, Option<string> device, Func<InferenceBackend, T> onnx, Func<string, T> torch)
    {
        var engine = Resolve(p, model, device);
        return engine.IsOnnxRuntime ? onnx(engine) : torch(p.GetValue(device)!);
    }
}
