using System.CommandLine;
using System.Globalization;
using BertSharp.Inference;
using BertSharp.Modeling;

namespace BertSharp.Cli.Commands;

/// <summary><c>bert nsp</c>: does text B follow text A? (BERT's next-sentence head)</summary>
internal static class NspCommand
{
    public static Command Create()
    {
        var model = CommonOptions.ModelOption("Model directory or Hub id with an NSP head (e.g. OUTPUT/final of 'bert pretrain').");
        var text = new Option<string>("--text") { Description = "First segment (A).", Required = true };
        var pair = new Option<string>("--text-pair") { Description = "Second segment (B).", Required = true };
        var maxLength = CommonOptions.MaxLength();
        var device = CommonOptions.Device();
        var threads = CommonOptions.Threads();
        var cmd = new Command("nsp", "Next-sentence prediction: the probability that --text-pair follows --text.");
        foreach (var o in new Option[] { model, text, pair, maxLength, device, threads })
        {
            cmd.Options.Add(o);
        }
        cmd.SetAction(p =>
        {
            if (string.IsNullOrWhiteSpace(p.GetValue(text)) || string.IsNullOrWhiteSpace(p.GetValue(pair)))
            {
                throw new BertSharpException("nsp: --text and --text-pair must not be empty.");
            }
            CommonOptions.ApplyThreads(p, threads);
            using var pipeline = NextSentence.Load(p.GetValue(model)!, p.GetValue(device) ?? "auto");
            WordPieces.Require(pipeline.Tokenizer, p.GetValue(text)!, "--text");
            WordPieces.Require(pipeline.Tokenizer, p.GetValue(pair)!, "--text-pair");
            var length = ModelLength.Resolve(pipeline.Model.Config, pipeline.Tokenizer, p.GetValue(maxLength), p.GetValue(model)!);
            if (length.Warning is { } w)
            {
                CliErrors.Warn(w);
            }
            PairLength.Check(length.Length);
            var tokens = pipeline.Tokenizer.CountTokens(p.GetValue(text)!) + pipeline.Tokenizer.CountTokens(p.GetValue(pair)!) + 3;
            // As a pair, as predict says it: the single text's wording (the tokens after the limit were not read) would be wrong
            // for a longest-first cut, which may cut either text.
            if (ModelLength.TruncationWarning(tokens > length.Length ? 1 : 0, 1, length.Length, tokens, pair: true, sideIsOption: false) is { } tw)
            {
                CliErrors.Warn(tw);
            }
            var r = pipeline.Predict(p.GetValue(text)!, p.GetValue(pair)!, length.Length);
            var inv = CultureInfo.InvariantCulture;
            Console.Out.WriteLine(string.Create(inv, $"is_next    {r.IsNextProbability:F4}"));
            Console.Out.WriteLine(string.Create(inv, $"not_next   {r.IsRandomProbability:F4}"));
            Console.Out.WriteLine(r.IsNext ? "prediction: B follows A" : "prediction: B does not follow A");
            return 0;
        });
        return cmd;
    }
}
