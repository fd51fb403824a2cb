using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text.Json.Nodes;
using BertSharp.Inference;
using BertSharp.Tests.Inference;
using BertSharp.Tests.Modeling;
using BertSharp.Tokenization;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.AI;
using OpenAI;
using OpenAI.Embeddings;

namespace BertSharp.Tests.Server;

/// <summary>One server of a sentence-transformers model (mean pooling, Normalize) for the class, with small limits to reach.</summary>
public sealed class OpenAiServerFixture : IAsyncLifetime
{
    public const int MaxTexts = 3;
    public const int MaxLength = 16;

    public ServerHost Host { get; private set; } = null!;

    /// <summary>The request bodies the SDK clients sent, in order.</summary>
    public List<string> Sent { get; } = [];

    public async Task InitializeAsync() => Host = await ServerHost.Start("base-model",
        adjust: o => o with { MaxTextsPerRequest = MaxTexts, MaxLength = MaxLength },
        prepare: d => SentenceTransformerPoolingTests.AddModules(d, SentenceTransformerPoolingTests.MeanNormalized,
            SentenceTransformerPoolingTests.PoolingConfig("mean")));

    public async Task DisposeAsync() => await Host.DisposeAsync();

    /// <summary>OpenAI's own client, pointed at the in-process server (its requests recorded in <see cref="Sent"/>).</summary>
    public EmbeddingClient Client()
    {
        var http = new HttpClient(new Recorder(Host.App, Sent)) { BaseAddress = Host.Client.BaseAddress };
        return new EmbeddingClient("any-model-name", new ApiKeyCredential("unused"), new OpenAIClientOptions
        {
            Endpoint = new Uri(Host.Client.BaseAddress!, "v1"),
            Transport = new HttpClientPipelineTransport(http),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
        });
    }

    private sealed class Recorder(Microsoft.AspNetCore.Builder.WebApplication app, List<string> sent) : DelegatingHandler(app.GetTestServer().CreateHandler())
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var body = request.Content is null ? "" : await request.Content.ReadAsStringAsync(cancellationToken);
            lock (sent)
            {
                sent.Add(body);
            }
            return await base.SendAsync(request, cancellationToken);
        }
    }
}

/// <summary>
/// <c>POST /v1/embeddings</c> answers OpenAI's own .NET client and Microsoft.Extensions.AI's embedding generator, as
/// independent clients, with the vectors of <c>POST /v1/embed</c> and of the library's <see cref="FeatureExtraction"/> (the
/// model's mean pooling and normalisation), the tokenizer's token counts, and errors those clients surface with the server's
/// message; raw requests cover what the clients cannot send.
/// </summary>
public sealed class OpenAiEmbeddingsTests(OpenAiServerFixture fixture) : IClassFixture<OpenAiServerFixture>
{
    private static readonly string[] Texts = ["the cat sat on the mat .", "a heartfelt family drama", "Zürich 東京"];

    private ServerHost Host => fixture.Host;

    /// <summary>The library's embeddings of the fixture model with the pooling the modules declare (mean, normalised).</summary>
    private static float[][] Reference(IReadOnlyList<string> texts)
    {
        using var pipe = FeatureExtraction.Load(HfFixture.Dir("base-model"), "cpu");
        return pipe.Embed([.. texts], new FeatureExtractionOptions(Pooling.Mean, Normalize: true));
    }

    /// <summary>Tokens of each text as the model reads it: the tokenizer's ids, [CLS] and [SEP] included.</summary>
    private int Tokens(IEnumerable<string> texts)
    {
        var tokenizer = BertTokenizer.FromDirectory(Host.ModelDirectory);
        return texts.Sum(t => tokenizer.Encode(t).Ids.Length);
    }

    private async Task<float[][]> EmbedEndpoint(IReadOnlyList<string> texts)
    {
        var (status, body) = await Host.Post("/v1/embed", new { texts });
        Assert.Equal(200, status);
        return [.. body!["embeddings"]!.AsArray().Select(v => v!.AsArray().Select(x => (float)x!).ToArray())];
    }

    private static void AssertVectors(float[][] expected, IReadOnlyList<ReadOnlyMemory<float>> actual, string who)
    {
        Assert.Equal(expected.Length, actual.Count);
        for (var i = 0; i < expected.Length; i++)
        {
            InferenceFixtures.AssertClose(expected[i], actual[i].Span, 1e-5, $"{who}, text {i}");
        }
    }

    [Fact]
    public async Task Openai_client_gets_the_vectors_of_v1_embed_and_the_tokenizers_counts()
    {
        var result = (await fixture.Client().GenerateEmbeddingsAsync(Texts)).Value;
        // The SDK asks for base64 and decodes it itself: this is the base64 path, as OpenAI's client uses it.
        Assert.Equal("base64", (string?)JsonNode.Parse(fixture.Sent[^1])!["encoding_format"]);
        Assert.Equal([0, 1, 2], result.Select(e => e.Index));
        var vectors = result.Select(e => e.ToFloats()).ToList();
        AssertVectors(await EmbedEndpoint(Texts), vectors, "vs /v1/embed");
        AssertVectors(Reference(Texts), vectors, "vs FeatureExtraction");
        Assert.Equal(Tokens(Texts), result.Usage.InputTokenCount);
        Assert.Equal(Tokens(Texts), result.Usage.TotalTokenCount);
        Assert.Equal(Path.GetFileName(Host.ModelDirectory), result.Model);
    }

    [Fact]
    public async Task Float_format_read_by_the_openai_sdks_own_model_equals_base64()
    {
        var client = fixture.Client();
        var request = BinaryContent.Create(BinaryData.FromObjectAsJson(new { input = Texts, model = "m", encoding_format = "float" }));
        var raw = await client.GenerateEmbeddingsAsync(request);
        var json = JsonNode.Parse(raw.GetRawResponse().Content.ToString())!;
        Assert.Equal(System.Text.Json.JsonValueKind.Array, json["data"]![0]!["embedding"]!.GetValueKind());
        var floats = ModelReaderWriter.Read<OpenAIEmbeddingCollection>(raw.GetRawResponse().Content)!;
        var base64 = (await client.GenerateEmbeddingsAsync(Texts)).Value;
        for (var i = 0; i < Texts.Length; i++)
        {
            // Bit for bit: the two formats carry the same float32 values.
            Assert.Equal(base64[i].ToFloats().ToArray(), floats[i].ToFloats().ToArray());
        }
        AssertVectors(Reference(Texts), [.. floats.Select(e => e.ToFloats())], "float format");
    }

    [Fact]
    public async Task Microsoft_extensions_ai_generator_gets_the_same_vectors_and_usage()
    {
        IEmbeddingGenerator<string, Embedding<float>> generator = fixture.Client().AsIEmbeddingGenerator();
        var embeddings = await generator.GenerateAsync(Texts);
        AssertVectors(await EmbedEndpoint(Texts), [.. embeddings.Select(e => e.Vector)], "M.E.AI vs /v1/embed");
        AssertVectors(Reference(Texts), [.. embeddings.Select(e => e.Vector)], "M.E.AI vs FeatureExtraction");
        Assert.Equal(Tokens(Texts), embeddings.Usage!.InputTokenCount);
    }

    [Fact]
    public async Task Dimensions_keeps_the_first_values_renormalised()
    {
        const int n = 16;
        var result = (await fixture.Client().GenerateEmbeddingsAsync(Texts, new OpenAI.Embeddings.EmbeddingGenerationOptions { Dimensions = n })).Value;
        var full = Reference(Texts);
        for (var i = 0; i < Texts.Length; i++)
        {
            var head = full[i][..n];
            var norm = Math.Sqrt(head.Sum(v => (double)v * v));
            var expected = head.Select(v => (float)(v / norm)).ToArray();
            InferenceFixtures.AssertClose(expected, result[i].ToFloats().Span, 1e-5, $"text {i}");
        }
    }

    public static TheoryData<string[], string> SdkRefusals => new()
    {
        { ["fine", ""], "'input[1]' must not be empty." },
        { ["a", "b", "c", "d"], "'input' has 4 entries; the limit is 3 per request." },
        { [string.Join(' ', Enumerable.Repeat("word", 20))], "'input[0]' has 22 tokens (with special tokens); the limit is 16." },
    };

    [Theory]
    [MemberData(nameof(SdkRefusals))]
    public async Task Refusals_reach_the_openai_client_as_its_exception_with_the_servers_message(string[] input, string message)
    {
        var e = await Assert.ThrowsAsync<ClientResultException>(() => fixture.Client().GenerateEmbeddingsAsync(input));
        Assert.Equal(400, e.Status);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        Assert.Contains("invalid_request_error", e.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, string?, string> RawRefusals => new()
    {
        { """{"input": [101, 2023], "model": "m"}""", "input", "input: expected a string or an array of strings." },
        { """{"input": [[101, 2023]], "model": "m"}""", "input", "input: expected a string or an array of strings." },
        { """{"input": [], "model": "m"}""", "input", "'input' must not be empty." },
        // A lone string is named 'input' (it was 'input[0]', an entry of a list the request did not send); an array's entry by its index.
        { """{"input": "", "model": "m"}""", "input", "'input' must not be empty." },
        { """{"input": [""], "model": "m"}""", "input", "'input[0]' must not be empty." },
        { $$"""{"input": "{{string.Join(' ', Enumerable.Repeat("word", 20))}}"}""", "input", "'input' has 22 tokens (with special tokens); the limit is 16." },
        { """{"model": "m"}""", "input", "'input' is required: a string or an array of strings." },
        { """{"input": "a", "encoding_format": "int8"}""", "encoding_format", "'encoding_format' must be float or base64; got 'int8'." },
        { """{"input": "a", "dimensions": 0}""", "dimensions", "'dimensions' must be between 1 and 64 (this model's embedding size); got 0." },
        { """{"input": "a", "dimensions": 65}""", "dimensions", "'dimensions' must be between 1 and 64 (this model's embedding size); got 65." },
        { """{"input": "a", "dimensions": "8"}""", "dimensions", "dimensions: expected an integer (at most 2147483647)." },
        { """{"input": "a", "temperature": 1}""", "temperature", "unknown field 'temperature'; expected input, model, encoding_format, dimensions, user." },
    };

    [Theory]
    [MemberData(nameof(RawRefusals))]
    public async Task Raw_refusals_are_400s_in_openais_error_shape(string body, string? param, string message)
    {
        var (status, answer) = await Host.Post("/v1/embeddings", body);
        Assert.Equal(400, status);
        var expected = new JsonObject
        {
            ["error"] = new JsonObject { ["message"] = message, ["type"] = "invalid_request_error", ["param"] = param, ["code"] = null },
        };
        Assert.Equal(expected.ToJsonString(), answer!.ToJsonString());
    }

    [Fact]
    public async Task A_lone_string_with_a_model_and_user_gives_one_float_embedding()
    {
        var (status, body) = await Host.Post("/v1/embeddings", new { input = Texts[2], model = "text-embedding-3-small", user = "u1" });
        Assert.Equal(200, status);
        Assert.Equal("list", (string?)body!["object"]);
        var data = body["data"]!.AsArray();
        Assert.Single(data);
        Assert.Equal("embedding", (string?)data[0]!["object"]);
        Assert.Equal(0, (int)data[0]!["index"]!);
        InferenceFixtures.AssertClose(Reference([Texts[2]])[0], data[0]!["embedding"]!.AsArray().Select(v => (float)v!).ToArray(), 1e-5, "lone string");
        var tokens = Tokens([Texts[2]]);
        Assert.Equal(tokens, (int)body["usage"]!["prompt_tokens"]!);
        Assert.Equal(tokens, (int)body["usage"]!["total_tokens"]!);
    }

    [Fact]
    public async Task Base64_is_the_little_endian_float32_bytes()
    {
        var (_, floats) = await Host.Post("/v1/embeddings", new { input = Texts, encoding_format = "float" });
        var (status, base64) = await Host.Post("/v1/embeddings", new { input = Texts, encoding_format = "base64" });
        Assert.Equal(200, status);
        for (var i = 0; i < Texts.Length; i++)
        {
            var bytes = Convert.FromBase64String((string)base64!["data"]![i]!["embedding"]!);
            var decoded = Enumerable.Range(0, bytes.Length / 4).Select(k => System.Buffers.Binary.BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(k * 4))).ToArray();
            Assert.Equal(floats!["data"]![i]!["embedding"]!.AsArray().Select(v => (float)v!).ToArray(), decoded);
        }
    }

    [Fact]
    public async Task Openapi_lists_the_endpoint_and_its_schema_agrees_with_the_server()
    {
        var doc = JsonNode.Parse(await Host.Client.GetStringAsync(new Uri("/openapi.json", UriKind.Relative)))!;
        var operation = doc["paths"]!["/v1/embeddings"]!["post"]!;
        var schema = operation["requestBody"]!["content"]!["application/json"]!["schema"]!;
        if (schema["$ref"] is { } reference)
        {
            schema = doc["components"]!["schemas"]![((string)reference!).Split('/')[^1]]!;
        }
        Assert.NotNull(operation["responses"]!["400"]);
        string[] bodies =
        [
            """{"input": "a", "model": "m"}""", """{"input": ["a", "b"], "encoding_format": "base64", "dimensions": 64}""",
            """{"input": []}""", """{"input": [1, 2]}""", """{"input": " "}""", """{"input": ["a", "b", "c", "d"]}""",
            """{"input": "a", "encoding_format": "Float"}""", """{"input": "a", "dimensions": 65}""", """{"model": "m"}""",
        ];
        foreach (var body in bodies)
        {
            var valid = RequestSchemaValidator.IsValid(schema.AsObject(), JsonNode.Parse(body));
            var (status, answer) = await Host.Post("/v1/embeddings", body);
            Assert.True(valid == (status == 200), $"{body}: the document {(valid ? "allows" : "refuses")} it; the server answered {status} {answer?.ToJsonString()}");
        }
    }

    [Fact]
    public async Task Other_methods_and_the_health_list_know_the_route()
    {
        var health = await Host.Health();
        Assert.Contains("/v1/embeddings", health["endpoints"]!.AsArray().Select(e => (string?)e));
        using var response = await Host.Client.GetAsync(new Uri("/v1/embeddings", UriKind.Relative));
        Assert.Equal(405, (int)response.StatusCode);
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!;
        Assert.Equal("invalid_request_error", (string?)error["type"]);
        Assert.StartsWith("method GET is not allowed on /v1/embeddings", (string?)error["message"], StringComparison.Ordinal);
    }
}
