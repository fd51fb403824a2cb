using System.CommandLine;
using System.Globalization;
using BertSharp.Inference;

namespace BertSharp.Cli.Commands;

/// <summary><c>bert fill-mask</c>: the most likely tokens for each [MASK] of a text.</summary>
internal static class FillMaskCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model directory with an MLM head (e.g. OUTPUT/final of 'bert pretrain').", Required = true };
        var text = new Option<string>("--text") { Description = "Text with one or more [MASK] tokens.", Required = true };
        var topK = new Option<int>("--top-k") { Description = "Candidates per mask.", DefaultValueFactory = _ => 5 };
        var device = new Option<string>("--device") { Description = "auto, cpu, cuda or cuda:N.", DefaultValueFactory = _ => "auto" };
        var cmd = new Command("fill-mask", "Predict the tokens hidden behind [MASK] with a masked-LM model.");
        foreach (var o in new Option[] { model, text, topK, device })
        {
            cmd.Options.Add(o);
        }
        cmd.SetAction(p =>
        {
            using var pipeline = FillMask.Load(p.GetValue(model)!, p.GetValue(device) ?? "auto");
            var masks = pipeline.Predict(p.GetValue(text)!, p.GetValue(topK));
            for (var m = 0; m < masks.Count; m++)
            {
                if (masks.Count > 1)
                {
                    Console.Out.WriteLine($"[MASK] {m + 1}:");
                }
                foreach (var c in masks[m])
                {
                    Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{c.Score,8:F4}  {c.Token,-15} {c.Sequence}"));
                }
            }
            return 0;
        });
        return cmd;
    }
}
