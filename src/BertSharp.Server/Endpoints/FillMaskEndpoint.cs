using BertSharp.Inference;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace BertSharp.Server.Endpoints;

/// <summary><c>POST /v1/fill-mask</c>: candidates for every [MASK] of a text.</summary>
internal static class FillMaskEndpoint
{
    public static void Map(WebApplication app, ServedModel served, BatcherRegistry batchers, ServerOptions options)
    {
        var fill = served.FillMask!;
        var batcher = batchers.Create<(string Text, int TopK), IReadOnlyList<IReadOnlyList<FillMaskPrediction>>>("fill-mask", inputs =>
        {
            // One padded forward pass for the whole micro-batch; each request keeps its own top_k of the largest asked for.
            IReadOnlyList<IReadOnlyList<IReadOnlyList<FillMaskPrediction>>> rows;
            lock (served.Model)
            {
                rows = fill.PredictBatch([.. inputs.Select(i => i.Text)], inputs.Max(i => i.TopK), options.MaxBatch);
            }
            return [.. rows.Select((masks, r) => (IReadOnlyList<IReadOnlyList<FillMaskPrediction>>)[.. masks.Select(m => m.Take(inputs[r].TopK).ToList())])];
        });
        app.MapPost("/v1/fill-mask", async (FillMaskRequest request, HttpContext context) =>
        {
            var text = RequestChecks.Text(request.Text, "text");
            var topK = RequestChecks.Range(request.TopK, "top_k", 5, 1, 50);
            served.CheckLength(text, "text");
            var masks = served.Tokenizer.Specials.Mask;
            if (!text.Contains(masks, StringComparison.Ordinal))
            {
                throw new ApiException(422, $"'text' has no {masks} token to fill.");
            }
            var result = await batchers.Submit(batcher, [(text, topK)], context);
            return new FillMaskResponse(result[0]);
        }).WithSummary("Top-k tokens (with scores and filled-in sequences) for each [MASK].").Produces<ErrorResponse>(400).Produces<ErrorResponse>(422);
    }
}
