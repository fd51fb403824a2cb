using BertSharp.Inference;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace BertSharp.Server.Endpoints;

/// <summary><c>POST /v1/ner</c>: token classification with HF's aggregation strategies.</summary>
internal static class NerEndpoint
{
    private sealed record Item(string Text, AggregationStrategy Aggregation, int? Stride);

    public static void Map(WebApplication app, ServedModel served, BatcherRegistry batchers, ServerOptions options)
    {
        var ner = served.Ner!;
        // The same limit as a QA context: a text with a stride may take several windows.
        var strideLimit = (int)Math.Min((long)served.MaxLength * options.MaxContextWindows, int.MaxValue);
        var batcher = batchers.Create<Item, List<TokenEntity>>("ner", items =>
        {
            // One forward pass per stride (none: one truncated window per text); each request keeps its own aggregation.
            var result = new List<TokenEntity>[items.Count];
            foreach (var group in items.Select((item, i) => (item, i)).GroupBy(x => x.item.Stride))
            {
                var members = group.ToArray();
                var windows = ner.Windows([.. members.Select(m => m.item.Text)], served.MaxLength, group.Key, options.MaxBatch);
                for (var k = 0; k < members.Length; k++)
                {
                    result[members[k].i] = ner.Entities(members[k].item.Text, windows[k], members[k].item.Aggregation, ignoreLabels: null);
                }
            }
            return result;
        });
        app.MapPost("/v1/ner", async (NerRequest request, HttpContext context) =>
        {
            var text = RequestChecks.Text(request.Text, "text");
            served.CheckWordPieces(text, "text");
            var aggregation = RequestChecks.Choice(request.Aggregation, "aggregation", ner.DefaultAggregation);
            if (request.Stride is { } stride)
            {
                try
                {
                    TokenClassification.CheckStride(stride, aggregation, served.MaxLength);
                }
                catch (BertSharpException e)
                {
                    throw new ApiException(400, e.Render(f => $"'{f}'"));
                }
                served.CheckLength(text, "text", strideLimit);
            }
            else
            {
                served.CheckLength(text, "text");
            }
            var result = await batchers.Submit(batcher, [new Item(text, aggregation, request.Stride)], context);
            return new NerResponse(result[0]);
        }).WithSummary("Entities with labels, scores and character spans.").ProducesApiErrors();
    }
}
