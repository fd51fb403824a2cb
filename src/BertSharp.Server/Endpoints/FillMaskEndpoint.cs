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
        var batcher = batchers.Create<(string Text, int TopK, FillMaskTargets? Targets), IReadOnlyList<IReadOnlyList<FillMaskPrediction>>>("fill-mask", inputs =>
        {
            // One padded forward pass per set of targets in the micro-batch (one pass for requests without targets); each
            // request keeps its own top_k of the largest asked for.
            var result = new IReadOnlyList<IReadOnlyList<FillMaskPrediction>>[inputs.Count];
            foreach (var group in Enumerable.Range(0, inputs.Count).GroupBy(i => TargetsKey(inputs[i].Targets), StringComparer.Ordinal))
            {
                var members = group.ToArray();
                IReadOnlyList<IReadOnlyList<IReadOnlyList<FillMaskPrediction>>> rows;
                lock (served.Model)
                {
                    rows = fill.PredictBatch([.. members.Select(i => inputs[i].Text)], members.Max(i => inputs[i].TopK), options.MaxBatch, inputs[members[0]].Targets);
                }
                for (var r = 0; r < members.Length; r++)
                {
                    result[members[r]] = [.. rows[r].Select(m => m.Take(inputs[members[r]].TopK).ToList())];
                }
            }
            return result;
        });
        app.MapPost("/v1/fill-mask", async (FillMaskRequest request, HttpContext context) =>
        {
            var text = RequestChecks.Text(request.Text, "text");
            var targets = Targets(request.Targets, served);
            // HF caps top_k at the targets' number before anything reads it, so the limit holds for what is answered: a top_k
            // over it that the targets cap is HF's request too.
            var topK = RequestChecks.Range(targets is not null && request.TopK > targets.TokenIds.Count ? targets.TokenIds.Count : request.TopK, "top_k",
                RequestChecks.FillMaskDefaultTopK, RequestChecks.MinTopK, RequestChecks.FillMaskMaxTopK);
            CheckTopK(topK, fill.Model.Config.VocabSize, targets is not null);
            served.CheckLength(text, "text");
            var masks = served.Tokenizer.Specials.Mask;
            if (!text.Contains(masks, StringComparison.Ordinal))
            {
                throw new ApiException(422, $"'text' has no {masks} token to fill.");
            }
            CheckCandidates(text, masks, targets is null ? topK : Math.Min(topK, targets.TokenIds.Count), options.MaxFillMaskCandidates);
            var result = await batchers.Submit(batcher, [(text, topK, targets)], context);
            return new FillMaskResponse(result[0], targets is { Warnings.Count: > 0 } ? targets.Warnings : null);
        }).WithSummary("Top-k tokens (with scores and filled-in sequences) for each [MASK].").ProducesApiErrors();
    }

    /// <summary>
    /// The request's targets resolved on the model's vocabulary, or null when none were given (400 for an empty list or entry;
    /// 422 when every target was skipped for want of a word piece).
    /// </summary>
    private static FillMaskTargets? Targets(string[]? words, ServedModel served)
    {
        if (words is null)
        {
            return null;
        }
        if (words.Length == 0)
        {
            throw RequestChecks.Empty("targets");
        }
        // A lone string is the targets themselves, not an entry of a list the request never sent.
        return FillMaskTargets.Resolve(served.Tokenizer, [.. words.Select((w, i) => RequestChecks.Text(w, StringOrStrings.IsLone(words) ? "targets" : $"targets[{i}]"))]);
    }

    // Requests with the same target ids share a forward pass; "" is no targets.
    private static string TargetsKey(FillMaskTargets? targets) => targets is null ? "" : string.Join(",", targets.TokenIds);

    /// <summary>The largest top_k a request without targets may ask for: the endpoint's bound, or the vocabulary's size when smaller.</summary>
    internal static int MaxTopK(ServedModel served) =>
        Math.Min(RequestChecks.FillMaskMaxTopK, served.FillMask?.Model.Config.VocabSize ?? RequestChecks.FillMaskMaxTopK);

    /// <summary>
    /// Refuses (422) a top_k over the vocabulary of a model smaller than <see cref="RequestChecks.FillMaskMaxTopK"/> tokens: the
    /// pipeline refuses it, which in the micro-batch would fail every request batched with it, as a 500. With targets it is
    /// capped at their number instead, as HF caps it.
    /// </summary>
    internal static void CheckTopK(int topK, int vocabSize, bool targets)
    {
        if (!targets && topK > vocabSize)
        {
            throw new ApiException(422, $"'top_k' is {topK}; the model's vocabulary has {vocabSize} tokens, expected at most that many without 'targets'.");
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
