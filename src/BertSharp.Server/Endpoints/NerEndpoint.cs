using BertSharp.Inference;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace BertSharp.Server.Endpoints;

/// <summary><c>POST /v1/ner</c>: token classification with HF's aggregation strategies.</summary>
internal static class NerEndpoint
{
    private sealed record Item(string Text, AggregationStrategy Aggregation);

    public static void Map(WebApplication app, ServedModel served, BatcherRegistry batchers, ServerOptions options)
    {
        var ner = served.Ner!;
        var batcher = batchers.Create<Item, List<TokenEntity>>("ner", items =>
        {
            // One forward pass for the batch; each request keeps its own aggregation.
            var (encodings, logits) = ner.Logits([.. items.Select(i => i.Text)], served.MaxLength, options.MaxBatch);
            var labels = ner.Labels;
            return [.. items.Select((item, i) => TokenAggregation.Aggregate(ner.Scores(item.Text, encodings[i], logits[i]), labels, item.Aggregation, decoderCleanup: ner.Tokenizer.DecoderCleanup))];
        });
        app.MapPost("/v1/ner", async (NerRequest request, HttpContext context) =>
        {
            var text = RequestChecks.Text(request.Text, "text");
            served.CheckWordPieces(text, "text");
            var aggregation = RequestChecks.Choice(request.Aggregation, "aggregation", ner.DefaultAggregation);
            served.CheckLength(text, "text");
            var result = await batchers.Submit(batcher, [new Item(text, aggregation)], context);
            return new NerResponse(result[0]);
        }).WithSummary("Entities with labels, scores and character spans.").ProducesApiErrors();
    }
}
