using System.CommandLine;
using BertSharp.Inference;
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
            var target = OutputDirectory.Inspect(outDir);
            target.ThrowIfForeign(parse.GetValue(overwrite));
            target.ThrowIfOtherKind(BertPretrained.ModelKind);
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
                    $"({string.Join(", ", report.UnexpectedKeys.Take(5))}{(report.UnexpectedKeys.Count > 5 ? ", …" : "")}); " +
                    KeepingHint(m, report, parse.GetValue(architecture)) + ".");
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
                CliErrors.Warn(report.Warning!);
            }
            BertPretrained.Save(m, outDir, new SaveOptions(Dtype: scalar, TokenizerFrom: source, Overwrite: parse.GetValue(overwrite)));
            Console.WriteLine($"{m.GetType().Name}: {m.NamedParameters().Sum(p => p.Param.numel()):N0} parameters, " +
                              $"{report.RenamedKeys.Count} legacy name(s) renamed → {CliErrors.Shown(Path.Combine(outDir, "model.safetensors"))} ({parse.GetValue(dtype)})");
            return 0;
        });
        return cmd;
    }

    /// <summary>
    /// How to convert without dropping the unexpected tensors of <paramref name="report"/>: config.json's class when it was overridden and holds every
    /// tensor of the checkpoint, else the classes that do. Convert has no flag that accepts a loss: the only way is another class.
    /// </summary>
    private static string KeepingHint(BertPreTrainedModel model, LoadReport report, string? given)
    {
        var missing = report.MissingKeys.ToHashSet(StringComparer.Ordinal);
        var checkpoint = model.NamedParameters().Select(p => p.Name).Where(k => !missing.Contains(k)).Concat(report.UnexpectedKeys).ToList();
        var configured = model.Config.Architectures?.FirstOrDefault();
        if (given is not null && configured is not null && configured != given && HoldsAll(configured, checkpoint))
        {
            return $"config.json's architecture {configured} keeps them: leave out --architecture {given}";
        }
        var holding = BertPretrained.Architectures.Where(a => a != given && HoldsAll(a, checkpoint)).ToList();
        var classes = holding.Count <= 1 ? holding.FirstOrDefault() : string.Join(", ", holding[..^1]) + " or " + holding[^1];
        return (given, classes) switch
        {
            (null, null) => "no model class holds every tensor of the checkpoint",
            (null, _) => $"pass --architecture {classes}",
            (_, null) => $"--architecture {given} has no place for them, nor has any other model class",
            _ => $"--architecture {given} has no place for them; pass --architecture {classes}",
        };
    }

    /// <summary>
    /// Whether <paramref name="architecture"/> has a place for each key: the encoder, and its head. A pooler counts as held
    /// by every class: loading drops it without a word where the class has none, as HF does.
    /// </summary>
    private static bool HoldsAll(string architecture, IEnumerable<string> keys)
    {
        const string bert = BertPreTrainedModel.BaseModelPrefix + ".";
        var heads = RequiredWeights.For(architecture).Prefixes;
        return keys.Select(k => k.StartsWith(bert, StringComparison.Ordinal) ? k[bert.Length..] : k)
            .All(k => k.StartsWith("embeddings.", StringComparison.Ordinal) || k.StartsWith("encoder.", StringComparison.Ordinal)
                || k.StartsWith("pooler.", StringComparison.Ordinal) || heads.Any(h => k.StartsWith(h, StringComparison.Ordinal)));
    }
}
