using System.CommandLine;
using BertSharp.IO;
using BertSharp.Modeling;

namespace BertSharp.Cli.Commands;

/// <summary><c>bert convert MODEL OUT</c>: any BERT checkpoint (pickle, shards, legacy names, Hub id) → an HF safetensors directory.</summary>
internal static class ConvertCommand
{
    public static Command Create()
    {
        var model = CommonOptions.ModelOptionOrArgument("Model directory (model.safetensors, shards or pytorch_model.bin), Hub id, ONNX model (.onnx) or a .NET assembly embedding one.");
        var output = CommonOptions.ModelOptionOrArgument(
            "Directory to write (config.json, model.safetensors, tokenizer files); replaced atomically. A non-empty directory bert did not write is refused (see --overwrite).",
            "output", "--output");
        var dtype = new Option<string>("--dtype") { Description = "Weight dtype to write: float32, float16 or bfloat16.", DefaultValueFactory = _ => "float32" };
        var architecture = CommonOptions.Architecture("to load as");
        var overwrite = CommonOptions.Overwrite("OUTPUT");
        var cmd = new Command("convert", "Rewrite a BERT checkpoint as HF config.json + model.safetensors (keys, dtypes and shapes as HF writes them).")
        {
            model.Option, output.Option, model.Positional, output.Positional, dtype, architecture, overwrite,
        };
        var onnx = new OnnxConvertOptions();
        onnx.AddTo(cmd);
        cmd.SetAction(parse =>
        {
            var (input, outDir) = CommonOptions.ModelAndOutput(parse, model, output, "the directory to write");
            // Refuse a directory that is not ours before loading anything (and again, atomically, when saving).
            OutputDirectory.Inspect(outDir).ThrowIfForeign(parse.GetValue(overwrite));
            if (OnnxConvertOptions.IsOnnxInput(input))
            {
                return onnx.Run(parse, input, outDir, parse.GetValue(architecture), BertPretrained.ParseDtype(parse.GetValue(dtype)!),
                    parse.GetValue(overwrite));
            }
            var scalar = BertPretrained.ParseDtype(parse.GetValue(dtype)!);
            var source = BertPretrained.ResolveDirectory(input);
            using var m = BertPretrained.Load(parse.GetValue(architecture), source, out var report);
            if (report.UnexpectedKeys.Count > 0)
            {
                throw new BertSharpException(
                    $"{source}: converting as {m.GetType().Name} would drop {report.UnexpectedKeys.Count} tensor(s) " +
                    $"({string.Join(", ", report.UnexpectedKeys.Take(5))}{(report.UnexpectedKeys.Count > 5 ? ", …" : "")}); pass --architecture.");
            }
            // A converted checkpoint must hold the weights it was given: inventing encoder weights would write a random model.
            var invented = report.MissingKeys.Where(k => k.Contains("embeddings.", StringComparison.Ordinal) || k.Contains("encoder.", StringComparison.Ordinal)).ToList();
            if (invented.Count > 0)
            {
                throw new BertSharpException(
                    $"{source}: the checkpoint lacks {invented.Count} encoder weight(s) of {m.GetType().Name} ({string.Join(", ", invented.Take(3))}" +
                    $"{(invented.Count > 3 ? ", …" : "")}); converting would write randomly initialised weights.");
            }
            if (report.MissingKeys.Count > 0)
            {
                Console.Error.WriteLine("warning: " + SafeText.Escape(report.Warning));
            }
            BertPretrained.Save(m, outDir, new SaveOptions(Dtype: scalar, TokenizerFrom: source, Overwrite: parse.GetValue(overwrite)));
            Console.WriteLine($"{m.GetType().Name}: {m.NamedParameters().Sum(p => p.Param.numel()):N0} parameters, " +
                              $"{report.RenamedKeys.Count} legacy name(s) renamed → {Path.Combine(outDir, "model.safetensors")} ({parse.GetValue(dtype)})");
            return 0;
        });
        return cmd;
    }
}
