using System.CommandLine;
using BertSharp.Checkpoints.Onnx;
using BertSharp.Modeling;

namespace BertSharp.Cli.Commands;

/// <summary>
/// The ONNX side of <c>bert convert</c>: an <c>.onnx</c> file (or a .NET assembly embedding one) becomes an HF checkpoint
/// directory; the options ask for what a graph does not tell.
/// </summary>
internal sealed class OnnxConvertOptions
{
    public Option<string?> Vocab { get; } = new("--vocab") { Description = "ONNX input: the model's vocab.txt (default: the assembly's embedded vocab.txt, else vocab.txt beside the model)." };

    public Option<int?> NumHeads { get; } = new("--num-heads") { Description = "ONNX input: attention heads, when the graph's reshape constants do not tell." };

    public Option<double?> LayerNormEps { get; } = new("--layer-norm-eps") { Description = "ONNX input: LayerNorm epsilon, when the graph's LayerNorm is not recognised." };

    // The names from the list the imported config is checked against, so that the help names every one it takes.
    public Option<string?> HiddenAct { get; } = new("--hidden-act")
    {
        Description = $"ONNX input: FFN activation, one of {string.Join(", ", BertConfig.SupportedActivations)}, when the graph's is not recognised.",
    };

    public Option<string?> ProblemType { get; } = new("--problem-type") { Description = "ONNX input: regression, single_label_classification or multi_label_classification." };

    public Option<string?> Labels { get; } = new("--labels") { Description = "ONNX input: comma-separated label names in class order (a graph has none)." };

    public Option<bool?> Lowercase { get; } = new("--lowercase") { Description = "ONNX input: whether the tokenizer lowercases (default: derived from the vocabulary)." };

    public void AddTo(Command cmd)
    {
        foreach (var o in new Option[] { Vocab, NumHeads, LayerNormEps, HiddenAct, ProblemType, Labels, Lowercase })
        {
            cmd.Options.Add(o);
        }
    }

    /// <summary>Whether the convert input is an ONNX model (by extension) or a .NET assembly (by content).</summary>
    public static bool IsOnnxInput(string input) =>
        input.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) || AssemblyResources.IsAssembly(input);

    public int Run(ParseResult parse, string input, string output, string? architecture, TorchSharp.torch.ScalarType dtype, bool overwrite = false)
    {
        var options = new OnnxImportOptions(
            Architecture: architecture,
            NumAttentionHeads: parse.GetValue(NumHeads),
            LayerNormEps: parse.GetValue(LayerNormEps),
            HiddenAct: parse.GetValue(HiddenAct),
            ProblemType: parse.GetValue(ProblemType),
            Labels: parse.GetValue(Labels) is { } l ? [.. l.Split(',').Select(s => s.Trim())] : null,
            Lowercase: parse.GetValue(Lowercase),
            Overwrite: overwrite);
        var summary = OnnxImport.Convert(input, output, parse.GetValue(Vocab), options, dtype);
        foreach (var w in summary.Warnings)
        {
            CliErrors.Warn(w);
        }
        var b = summary.Bert;
        Console.WriteLine($"{CliErrors.Shown(input)}: ONNX opset {b.Opset} from {(b.Producer.Length > 0 ? CliErrors.Shown(b.Producer) : "an unnamed producer")}");
        // The notes say what the graph gave each config field (hidden_act gelu, ...), not which flag was typed: shown as data,
        // since renaming a field to its flag would read as if the user had passed it.
        foreach (var note in b.Notes)
        {
            Console.WriteLine("  " + CliErrors.Shown(note));
        }
        Console.WriteLine($"  vocabulary {CliErrors.Shown(summary.VocabSource)} ({(summary.Lowercase ? "uncased" : "cased")})");
        Console.WriteLine($"{b.Architecture}: {summary.Parameters:N0} parameters → {CliErrors.Shown(Path.Combine(output, "model.safetensors"))}");
        if (summary.SentenceTransformersModel is { } st)
        {
            Console.WriteLine($"  {CliErrors.Shown(st)}: its sentence-transformers files as its Hub repository has them → modules.json, 1_Pooling/config.json, sentence_bert_config.json");
        }
        return 0;
    }
}
