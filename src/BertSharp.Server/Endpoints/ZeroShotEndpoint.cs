using BertSharp.Inference;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace BertSharp.Server.Endpoints;

/// <summary>
/// <c>POST /zero-shot</c>: HF's Inference API for zero-shot-classification over an NLI model; a lone text is answered with
/// one <c>{sequence, labels, scores}</c>, an array of texts with an array of them.
/// </summary>
internal static class ZeroShotEndpoint
{
    public const string Path = "/zero-shot";

    public static void Map(WebApplication app, ServedModel served, BatcherRegistry batchers, ServerOptions options)
    {
        var zeroShot = served.ZeroShot!;
        // The (text, hypothesis) pairs of several requests share a forward pass; each request scores its own pairs' logits.
        var batcher = batchers.Create<(string Text, string Hypothesis), float[]>("zero-shot", pairs =>
        {
            lock (served.Model)
            {
                return zeroShot.Logits([.. pairs.Select(p => (p.Text, (string?)p.Hypothesis))], options.MaxBatch);
            }
        });
        app.MapPost(Path, async (ZeroShotRequest request, HttpContext context) =>
        {
            var inputs = request.Inputs ?? throw new ApiException(400, "'inputs' is required: a string or a non-empty array of strings.");
            var lone = StringOrStrings.IsLone(inputs);
            var texts = lone ? [RequestChecks.Text(inputs[0], "inputs")] : RequestChecks.Texts(inputs, "inputs", ApiSchema.MaxTexts(options));
            var parameters = request.Parameters ?? throw new ApiException(400, "'parameters' is required: an object with 'candidate_labels'.");
            var labels = Labels(parameters.CandidateLabels);
            CheckPairs(texts.Count, labels.Count, options.MaxZeroShotPairs);
            string[] hypotheses;
            try
            {
                hypotheses = zeroShot.Hypotheses(labels, parameters.HypothesisTemplate ?? ZeroShotClassifier.DefaultHypothesisTemplate);
            }
            catch (BertSharpException e)
            {
                // The library names its fields as the pipeline's arguments; here they sit inside 'parameters'.
                throw new ApiException(422, e.Render(f => "parameters." + f));
            }
            for (var i = 0; i < texts.Count; i++)
            {
                served.CheckWordPieces(texts[i], lone ? "inputs" : $"inputs[{i}]");
            }
            // The text is cut only_first to the served length, as HF's pipeline cuts it: the hypothesis is always read whole.
            var logits = await batchers.Submit(batcher, [.. texts.SelectMany(t => hypotheses.Select(h => (t, h)))], context);
            var results = zeroShot.Results(texts, labels, logits, parameters.MultiLabel == true);
            return lone ? Results.Json(results[0], ServerJson.Options) : Results.Json(results, ServerJson.Options);
        }).WithSummary("Score candidate labels against texts with an NLI model (HF's zero-shot-classification).")
            .WithDescription($"Each candidate label becomes a hypothesis read with each input as one pair: at most {options.MaxZeroShotPairs} inputs × " +
                "candidate labels per request (422 beyond). A string input is answered with one {sequence, labels, scores}, an array with an array of them.")
            .Produces<ZeroShotResult>()
            .ProducesApiErrors();
    }

    /// <summary>
    /// The candidate labels: an array (each entry refused by its index when empty), or one string split at its commas as HF
    /// splits it; empty, repeated and too long labels are left to <see cref="ZeroShotClassifier.Hypotheses"/>.
    /// </summary>
    private static IReadOnlyList<string> Labels(string[]? labels)
    {
        const string field = "parameters.candidate_labels";
        if (labels is null)
        {
            throw new ApiException(400, $"'{field}' is required: an array of strings or one string of labels separated by commas.");
        }
        if (StringOrStrings.IsLone(labels))
        {
            return ZeroShotClassifier.ParseLabels(RequestChecks.Text(labels[0], field));
        }
        if (labels.Length == 0)
        {
            throw RequestChecks.Empty(field);
        }
        return [.. labels.Select((l, i) => RequestChecks.Text(l, $"{field}[{i}]"))];
    }

    /// <summary>Refuses (422) a request of more (text, hypothesis) pairs than <paramref name="limit"/>: each is one forward input.</summary>
    internal static void CheckPairs(int inputs, int labels, int limit)
    {
        if ((long)inputs * labels > limit)
        {
            throw new ApiException(422, $"{inputs} inputs × {labels} candidate labels are {(long)inputs * labels} (text, hypothesis) pairs, each one forward input; " +
                $"the limit is {limit} per request (bert serve --max-zero-shot-pairs, ServerOptions.MaxZeroShotPairs).");
        }
    }
}
