using System.CommandLine;
using System.Text.Json;
using BertSharp.Inference;

namespace BertSharp.Cli.Commands;

/// <summary><c>bert ner</c>: entities (label, score, word, character span) found by a token-classification model.</summary>
internal static class NerCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "A BertForTokenClassification model directory.", Required = true };
        var text = new Option<string>("--text") { Description = "The text to tag.", Required = true };
        var aggregation = new Option<string>("--aggregation")
        {
            Description = "none, simple, first, average or max (HF TokenClassificationPipeline strategies).",
            DefaultValueFactory = _ => "simple",
        };
        aggregation.AcceptOnlyFromAmong("none", "simple", "first", "average", "max");
        var keepO = new Option<bool>("--keep-o") { Description = "Also print tokens/groups labelled O." };
        var cmd = new Command("ner", "Tag entities in a text with a token-classification model; prints JSON lines.") { model, text, aggregation, keepO };
        cmd.SetAction(p =>
        {
            var strategy = Enum.Parse<AggregationStrategy>(p.GetValue(aggregation)!, ignoreCase: true);
            using var pipe = TokenClassification.Load(p.GetValue(model)!);
            var entities = pipe.Predict([p.GetValue(text)!], strategy, p.GetValue(keepO) ? [] : null)[0];
            foreach (var e in entities)
            {
                Console.Out.WriteLine(JsonSerializer.Serialize(e, CliJson.Options));
            }
            return 0;
        });
        return cmd;
    }
}
