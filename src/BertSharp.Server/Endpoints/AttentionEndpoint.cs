using BertSharp.Inference;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace BertSharp.Server.Endpoints;

/// <summary><c>POST /v1/attention</c>: every layer's and head's attention over the tokens of a short text.</summary>
internal static class AttentionEndpoint
{
    public static void Map(WebApplication app, ServedModel served, BatcherRegistry batchers, ServerOptions options)
    {
        var limit = Math.Min(options.MaxAttentionLength, served.MaxLength);
        // Each text runs alone (the eager path on its own length); the batcher still serialises and bounds the queue.
        var batcher = batchers.Create<string, AttentionMap>("attention", texts => [.. texts.Select(t => served.Attention.Compute(t, limit))]);
        app.MapPost("/v1/attention", async (AttentionRequest request, HttpContext context) =>
        {
            var text = RequestChecks.Text(request.Text, "text");
            served.CheckLength(text, "text", limit);
            var map = (await batchers.Submit(batcher, [text], context))[0];
            var rounded = map.Weights.Select(l => l.Select(h => h.Select(q => q.Select(v => MathF.Round(v, 4)).ToArray()).ToArray()).ToArray()).ToArray();
            return new AttentionResponse(map.Tokens, rounded.Length, served.Model.Config.NumAttentionHeads, rounded);
        }).WithSummary("Attention probabilities [layer][head][query][key] for a short text.").ProducesApiErrors();
    }
}
