using System.CommandLine;
using System.Text.Json;
using BertSharp.Checkpoints;
using BertSharp.Inference;
using BertSharp.Modeling;

namespace BertSharp.Cli.Commands;

/// <summary><c>bert ner</c>: entities (label, score, word, character span) found by a token-classification model.</summary>
internal static class NerCommand
{
    public static Command Create()
    {
        var model = CommonOptions.ModelOption("A BertForTokenClassification model directory or Hub id.");
        var text = new Option<string>("--text") { Description = "The text to tag.", Required = true };
        var aggregation = new Option<string?>("--aggregation")
        {
            Description = "none, simple, first, average or max (HF TokenClassificationPipeline strategies). Default: first for a model " +
                          "'bert finetune --task ner' trained on first word pieces only (its other pieces carry no trained label), else simple.",
        };
        aggregation.AcceptOnlyFromAmong("none", "simple", "first", "average", "max");
        var keepO = new Option<bool>("--keep-o") { Description = "Also print tokens/groups labelled O." };
        var maxLength = CommonOptions.MaxLength(longer: "a longer text is refused rather than tagged in part, unless --stride is given");
        var stride = new Option<int?>("--stride")
        {
            Description = "Tag a text longer than --max-length in windows of that length, each repeating N word pieces of the one " +
                          "before (HF's stride); overlapping entities are merged, the longest (then the highest score) kept. " +
                          "Smaller than the window's room for text (--max-length minus 2); not with --aggregation none.",
        };
        var device = CommonOptions.Device();
        var threads = CommonOptions.Threads();
        var cmd = new Command("ner", "Tag entities in a text with a token-classification model; prints JSON lines.")
        {
            model, text, aggregation, keepO, maxLength, stride, device, threads,
        };
        cmd.SetAction(p =>
        {
            CommonOptions.ApplyThreads(p, threads);
            // The value is one of the lower-case names (checked while parsing); ignoreCase maps it onto the enum's (Simple).
            var strategy = p.GetValue(aggregation) is { } a ? Enum.Parse<AggregationStrategy>(a, ignoreCase: true) : (AggregationStrategy?)null;
            var input = p.GetValue(text)!;
            if (string.IsNullOrWhiteSpace(input))
            {
                throw new BertSharpException("--text: must not be empty.");
            }
            using var pipe = TokenClassification.Load(p.GetValue(model)!, p.GetValue(device)!);
            WordPieces.Require(pipe.Tokenizer, input, "--text");
            var length = ModelLength.Resolve(pipe.Model.Config, pipe.Tokenizer, p.GetValue(maxLength), p.GetValue(model)!);
            if (length.Warning is { } w)
            {
                CliErrors.Warn(w);
            }
            var strideValue = p.GetValue(stride);
            // Tagging a cut-off text would silently miss entities: refuse instead, unless windows were asked for.
            var tokens = pipe.Tokenizer.CountTokens(input) + 2;
            if (strideValue is null && tokens > length.Length)
            {
                throw new BertSharpException($"--text has {tokens} tokens (with [CLS]/[SEP]); the limit is {length.Length} (--max-length, at most {length.PositionLimit}); --stride N tags it in overlapping windows.");
            }
            var entities = pipe.Predict([input], strategy, p.GetValue(keepO) ? [] : null, length.Length, stride: strideValue)[0];
            foreach (var e in entities)
            {
                Console.Out.WriteLine(JsonSerializer.Serialize(e, CliJson.Options));
            }
            return 0;
        });
        return cmd;
    }
}
