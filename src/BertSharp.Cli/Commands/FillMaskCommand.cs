using System.CommandLine;
using System.Globalization;
using BertSharp.Inference;
using BertSharp.Modeling;

namespace BertSharp.Cli.Commands;

/// <summary><c>bert fill-mask</c>: the most likely tokens for each [MASK] of a text.</summary>
internal static class FillMaskCommand
{
    public static Command Create()
    {
        var model = CommonOptions.ModelOption("Model directory or Hub id with an MLM head (e.g. OUTPUT/final of 'bert pretrain').");
        var text = new Option<string>("--text") { Description = "Text with one or more [MASK] tokens.", Required = true };
        var target = new Option<string[]>("--target")
        {
            Description = "Rank only this word (repeat for several), as HF's targets: its score is still its softmax probability over the whole vocabulary; "
                + "a word that is not one vocabulary token is scored by its first word piece, with a warning, and one the tokenizer keeps nothing of is skipped, "
                + "with a warning. --top-k beyond the targets shows them all, "
                + "even beyond the vocabulary's size.",
        };
        var topK = CommonOptions.TopK("Candidates per mask (at most the vocabulary's size, unless --target is given: then at most the targets are shown).", 5);
        var maxLength = CommonOptions.MaxLength(longer: "a longer text is refused (cutting it could drop a [MASK])");
        var device = CommonOptions.Device();
        var threads = CommonOptions.Threads();
        var cmd = new Command("fill-mask", "Predict the tokens hidden behind [MASK] with a masked-LM model.");
        foreach (var o in new Option[] { model, text, target, topK, maxLength, device, threads })
        {
            cmd.Options.Add(o);
        }
        cmd.SetAction(p =>
        {
            CommonOptions.ApplyThreads(p, threads);
            using var pipeline = FillMask.Load(p.GetValue(model)!, p.GetValue(device) ?? "auto");
            var length = ModelLength.Resolve(pipeline.Model.Config, pipeline.Tokenizer, p.GetValue(maxLength), p.GetValue(model)!);
            if (length.Warning is { } w)
            {
                CliErrors.Warn(w);
            }
            var tokens = pipeline.Tokenizer.CountTokens(p.GetValue(text)!) + 2;
            if (tokens > length.Length)
            {
                throw new BertSharpException($"--text has {tokens} tokens (with [CLS]/[SEP]); the limit is {length.Length} (--max-length, at most {length.PositionLimit}).");
            }
            FillMaskTargets? targets = null;
            if (p.GetValue(target) is { Length: > 0 } words)
            {
                targets = FillMaskTargets.Resolve(pipeline.Tokenizer, words);
                foreach (var warning in targets.Warnings)
                {
                    CliErrors.WarnShown(TargetFlag(warning));
                }
            }
            var masks = pipeline.Predict(p.GetValue(text)!, p.GetValue(topK), targets);
            for (var m = 0; m < masks.Count; m++)
            {
                if (masks.Count > 1)
                {
                    Console.Out.WriteLine($"[MASK] {m + 1}:");
                }
                foreach (var c in masks[m])
                {
                    Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{c.Score,8:F4}  {CliErrors.Shown(c.Token),-15} {CliErrors.Shown(c.Sequence)}"));
                }
            }
            return 0;
        });
        return cmd;
    }

    // The library's warnings name a skipped word targets[i], as the server reports it; the CLI's error for a blank one says
    // --target[i] (the field rendered as its flag). Only the leading name is renamed: the rest quotes the user's word, which
    // must stay as typed, so the rename of CliErrors.Warn (over the whole text) does not fit.
    private static string TargetFlag(string warning)
    {
        const string Field = "targets[";
        return warning.StartsWith(Field, StringComparison.Ordinal)
            ? CliErrors.FlagOf("targets") + warning[(Field.Length - 1)..]
            : warning;
    }
}
