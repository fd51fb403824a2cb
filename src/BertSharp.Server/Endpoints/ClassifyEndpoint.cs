using BertSharp.Inference;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace BertSharp.Server.Endpoints;

/// <summary><c>POST /v1/classify</c>: labels and probabilities from a sequence-classification model.</summary>
internal static class ClassifyEndpoint
{
    public static void Map(WebApplication app, ServedModel served, BatcherRegistry batchers, ServerOptions options)
    {
        var classifier = served.Classifier!;
        var batcher = batchers.Create<(string Text, string? Pair), Classification>("classify", inputs =>
        {
            IReadOnlyList<Prediction> predictions;
            // The pipelines of this model serialise on it; the classifier joins them.
            lock (served.Model)
            {
                predictions = classifier.Predict(inputs, options.MaxBatch);
            }
            return [.. predictions.Select(p => ToResponse(p, classifier.Labels.Labels))];
        });
        app.MapPost("/v1/classify", async (ClassifyRequest request, HttpContext context) =>
        {
            var texts = RequestChecks.TextOrTexts(request.Text, request.Texts, options.MaxTextsPerRequest);
            if (request.TextPair is not null && request.Text is null)
            {
                throw new ApiException(400, "'text_pair' goes with 'text', not with 'texts'.");
            }
            var pair = request.TextPair is null ? null : RequestChecks.Text(request.TextPair, "text_pair");
            // The library's rule, checked per request: in a micro-batch of several requests its refusal would fail them all.
            if (classifier.PairMismatch(pair is not null) is not null)
            {
                throw new ApiException(422, pair is null
                    ? $"this model was fine-tuned on sentence pairs (task {classifier.FineTunedTask!.Name}): give 'text' and 'text_pair'; one text alone is not what it learned to judge."
                    : $"this model was fine-tuned on single texts (task {classifier.FineTunedTask!.Name}): leave 'text_pair' out; it never saw a second text.");
            }
            for (var i = 0; i < texts.Count; i++)
            {
                served.CheckLength(pair is null ? texts[i] : texts[i] + " " + pair, request.Text is null ? $"texts[{i}]" : "text", specialTokens: pair is null ? 2 : 3,
                    pairField: pair is null ? null : "text_pair");
            }
            var result = await batchers.Submit(batcher, [.. texts.Select(t => (t, pair))], context);
            return new ClassifyResponse(result);
        }).WithSummary("Label probabilities for texts (or a sentence pair).").ProducesApiErrors();
    }

    private static Classification ToResponse(Prediction p, IReadOnlyList<string> labels) =>
        p.Probabilities.Count == 0
            ? new Classification(p.Label, p.Score, [new LabelScore(p.Label, p.Score)])
            : new Classification(p.Label, p.Score, [.. p.Probabilities.Select((s, i) => new LabelScore(labels[i], s)).OrderByDescending(l => l.Score)]);
}
