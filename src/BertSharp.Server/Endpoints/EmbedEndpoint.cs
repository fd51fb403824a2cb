using BertSharp.Inference;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace BertSharp.Server.Endpoints;

/// <summary><c>POST /v1/embed</c>: sentence embeddings from the encoder (every architecture has one).</summary>
internal static class EmbedEndpoint
{
    /// <summary>One text to embed with its pooling and normalisation (texts of several choices share a batch).</summary>
    internal sealed record Item(string Text, Pooling Pooling, bool Normalize);

    /// <summary>Maps the route; returns its batcher, which <see cref="OpenAiEmbeddingsEndpoint"/> shares.</summary>
    public static MicroBatcher<Item, float[]> Map(WebApplication app, ServedModel served, BatcherRegistry batchers, ServerOptions options)
    {
        var batcher = batchers.Create<Item, float[]>("embed", items =>
        {
            var result = new float[items.Count][];
            foreach (var group in items.Select((item, i) => (item, i)).GroupBy(x => (x.item.Pooling, x.item.Normalize)))
            {
                var members = group.ToArray();
                var vectors = served.Features.Embed([.. members.Select(m => m.item.Text)],
                    served.EmbeddingOptions(group.Key.Pooling, group.Key.Normalize, options.MaxBatch));
                for (var k = 0; k < members.Length; k++)
                {
                    result[members[k].i] = vectors[k];
                }
            }
            return result;
        });
        app.MapPost("/v1/embed", async (EmbedRequest request, HttpContext context) =>
        {
            var texts = RequestChecks.TextOrTexts(request.Text, request.Texts, options.MaxTextsPerRequest);
            var choice = Choose(served, request.Pooling, request.Normalize);
            var embedding = served.EmbeddingOptions(choice.Pooling, choice.Normalize, options.MaxBatch);
            for (var i = 0; i < texts.Count; i++)
            {
                served.CheckLength(embedding.Input(texts[i]), request.Text is null ? $"texts[{i}]" : "text");
            }
            var vectors = await batchers.Submit(batcher, [.. texts.Select(t => new Item(t, choice.Pooling, choice.Normalize))], context);
            return new EmbedResponse(vectors, served.Features.Dimension);
        }).WithSummary("Sentence embeddings (CLS or mean pooling, optional L2 normalisation).").ProducesApiErrors();
        return batcher;
    }

    /// <summary>The request's pooling and normalisation, each defaulting to the model's own as <c>bert embed</c>'s do.</summary>
    internal static EmbeddingChoice Choose(ServedModel served, string? requestPooling, bool? normalize)
    {
        Pooling? pooling = requestPooling is null ? null : RequestChecks.Choice(requestPooling, "pooling", Pooling.Cls);
        try
        {
            return EmbeddingChoice.Resolve(served.Modules, pooling, "'pooling'", normalize, "'normalize'", Pooling.Cls, fallbackNormalize: false,
                publicNames: true);
        }
        catch (BertSharpException e)
        {
            // The model declares a pooling BertSharp does not compute: the request has to choose one.
            throw new ApiException(422, e.Message);
        }
    }
}
