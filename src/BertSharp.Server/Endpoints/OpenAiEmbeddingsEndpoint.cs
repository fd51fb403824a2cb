using System.Buffers.Binary;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace BertSharp.Server.Endpoints;

/// <summary>
/// <c>POST /v1/embeddings</c>: OpenAI's embeddings API over <see cref="EmbedEndpoint"/>'s batcher, pooling and normalisation
/// defaults, so that OpenAI's SDKs, Microsoft.Extensions.AI and Semantic Kernel embed with the served model as they would with
/// OpenAI or HF's text-embeddings-inference. Errors take OpenAI's shape (<see cref="ErrorHandling"/>).
/// </summary>
internal static class OpenAiEmbeddingsEndpoint
{
    public const string Route = "/v1/embeddings";

    public static void Map(WebApplication app, ServedModel served, BatcherRegistry batchers, ServerOptions options,
        MicroBatcher<EmbedEndpoint.Item, float[]> batcher)
    {
        var modelName = PublicModelName.Of(served.Name);
        app.MapPost(Route, async (OpenAiEmbeddingsRequest request, HttpContext context) =>
        {
            var input = request.Input ?? throw new ApiException(400, "'input' is required: a string or an array of strings.") { Param = "input" };
            // One text is named 'input' (it was named 'input[0]', an entry of a list the request never sent), as OpenAI names it.
            var lone = StringOrStrings.IsLone(input);
            var texts = Invalid<IReadOnlyList<string>>("input", () => lone ? [RequestChecks.Text(input[0], "input")] : RequestChecks.Texts(input, "input", options.MaxTextsPerRequest));
            var base64 = request.EncodingFormat switch
            {
                null or "float" => false,
                "base64" => true,
                _ => throw new ApiException(400, $"'encoding_format' must be float or base64; got '{request.EncodingFormat}'.") { Param = "encoding_format" },
            };
            var dimension = served.Features.Dimension;
            if (request.Dimensions is < 1 || request.Dimensions > dimension)
            {
                throw new ApiException(400, $"'dimensions' must be between 1 and {dimension} (this model's embedding size); got {request.Dimensions}.")
                {
                    Param = "dimensions",
                };
            }
            var choice = Default(served);
            var tokens = 0;
            var embedding = served.EmbeddingOptions(choice.Pooling, choice.Normalize, options.MaxBatch);
            for (var i = 0; i < texts.Count; i++)
            {
                var model = embedding.Input(texts[i]);
                // Refused, as /v1/embed refuses it, rather than cut: an embedding of part of a text would answer for the whole.
                tokens += Invalid("input", () => served.CheckLength(model, lone ? "input" : $"input[{i}]"));
            }
            var vectors = await InvalidAsync("input", () => batchers.Submit(batcher, [.. texts.Select(t => new EmbedEndpoint.Item(t, choice.Pooling, choice.Normalize))], context));
            var data = vectors.Select((v, i) =>
            {
                var kept = request.Dimensions is { } n ? Truncate(v, n, choice.Normalize) : v;
                return new OpenAiEmbedding("embedding", i, base64 ? Base64(kept) : kept);
            }).ToArray();
            return new OpenAiEmbeddingsResponse("list", data, modelName, new OpenAiUsage(tokens, tokens));
        }).WithSummary("OpenAI-compatible embeddings (the model's own pooling and normalisation, as /v1/embed's defaults).").ProducesOpenAiErrors();
    }

    /// <summary>
    /// The model's own pooling and normalisation, as <c>/v1/embed</c> without <c>pooling</c> and <c>normalize</c>; OpenAI's
    /// request has no field to choose another.
    /// </summary>
    private static Inference.EmbeddingChoice Default(ServedModel served)
    {
        try
        {
            return EmbedEndpoint.Choose(served, null, null);
        }
        catch (ApiException e)
        {
            throw new ApiException(e.Status, $"{e.Message} /v1/embeddings has no 'pooling' field: use POST /v1/embed.");
        }
    }

    /// <summary>Runs <paramref name="check"/>, answering its 422 (too long, too many inputs) with OpenAI's 400 naming <paramref name="param"/>.</summary>
    private static T Invalid<T>(string param, Func<T> check)
    {
        try
        {
            return check();
        }
        catch (ApiException e) when (e.Status is 400 or 422)
        {
            throw new ApiException(400, e.Message) { Param = param };
        }
    }

    private static async Task<T> InvalidAsync<T>(string param, Func<Task<T>> run)
    {
        try
        {
            return await run().ConfigureAwait(false);
        }
        catch (ApiException e) when (e.Status == 422)
        {
            throw new ApiException(400, e.Message) { Param = param };
        }
    }

    /// <summary>
    /// The first <paramref name="n"/> values; L2-normalised again when the full vector was (norm floored at 1e-12, as
    /// torch's normalize), as Matryoshka truncation keeps a unit vector.
    /// </summary>
    internal static float[] Truncate(float[] vector, int n, bool normalize)
    {
        var kept = vector[..n];
        if (!normalize)
        {
            return kept;
        }
        var norm = Math.Max(Math.Sqrt(kept.Sum(v => (double)v * v)), 1e-12);
        return [.. kept.Select(v => (float)(v / norm))];
    }

    /// <summary>The float32 values' little-endian bytes in base64, as OpenAI's <c>encoding_format: base64</c>.</summary>
    internal static string Base64(float[] vector)
    {
        var bytes = new byte[vector.Length * sizeof(float)];
        for (var i = 0; i < vector.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * sizeof(float)), vector[i]);
        }
        return Convert.ToBase64String(bytes);
    }
}
