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
            var topK = RequestChecks.Range(request.TopK, "top_k", RequestChecks.FillMaskDefaultTopK, RequestChecks.MinTopK, RequestChecks.FillMaskMaxTopK);
            CheckTopK(topK, fill.Model.Config.VocabSize);
            served.CheckLength(text, "text");
            var masks = served.Tokenizer.Specials.Mask;
            if (!text.Contains(masks, StringComparison.Ordinal))
            {
                throw new ApiException(422, $"'text' has no {masks} token to fill.");
            }
            CheckCandidates(text, masks, topK, options.MaxFillMaskCandidates);
            var result = await batchers.Submit(batcher, [(text, topK)], context);
            return new FillMaskResponse(result[0]);
        }).WithSummary("Top-k tokens (with scores and filled-in sequences) for each [MASK].").ProducesApiErrors();
    }

    /// <summary>
    /// Refuses (422) a top_k over the vocabulary of a model smaller than <see cref="RequestChecks.FillMaskMaxTopK"/> tokens: the
    /// pipeline refuses it, which in the micro-batch would fail every request batched with it, as a 500.
    /// </summary>
    internal static void CheckTopK(int topK, int vocabSize)
    {
        if (topK > vocabSize)
        {
            throw new ApiException(422, $"'top_k' is {topK}; the model's vocabulary has {vocabSize} tokens, expected at most that many.");
        }
    }

    /// <summary>
    /// Refuses (422) a request whose masks × top_k exceed the limit: every candidate repeats the whole sequence, so a short
    /// text of many masks would answer with megabytes.
    /// </summary>
    internal static void CheckCandidates(string text, string mask, int topK, int limit)
    {
        var count = 0;
        for (var at = text.IndexOf(mask, StringComparison.Ordinal); at >= 0; at = text.IndexOf(mask, at + mask.Length, StringComparison.Ordinal))
        {
            count++;
        }
        if ((long)count * topK <= limit)
        {
            return;
        }
        var fix = limit / count >= 1
            ? $"lower top_k to at most {limit / count}, or use fewer {mask} tokens"
            : $"use at most {limit} {mask} tokens per request";
        throw new ApiException(422,
            $"'text' has {count} {mask} tokens and top_k is {topK}: {(long)count * topK} candidates, each with its filled-in sequence; " +
            $"the limit is {limit} per request ({mask} tokens × top_k). {char.ToUpperInvariant(fix[0])}{fix[1..]}.");
    }
}
