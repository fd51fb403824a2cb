using System.Text.Json.Nodes;
using BertSharp.Inference;
using BertSharp.Server;

namespace BertSharp.Tests.Server;

/// <summary>
/// The OpenAPI document states what the endpoints enforce: required fields, the choices of string options, and the bounds of
/// numbers and text lists, from the same constants and options the request checks use.
/// </summary>
public sealed class ServerOpenApiTests
{
    private static async Task<JsonNode> Document(ServerHost host) =>
        JsonNode.Parse(await host.Client.GetStringAsync(new Uri("/openapi.json", UriKind.Relative)))!;

    /// <summary>The request body schema of <c>POST path</c>, its <c>$ref</c> resolved.</summary>
    private static JsonObject RequestSchema(JsonNode doc, string path)
    {
        var schema = doc["paths"]![path]!["post"]!["requestBody"]!["content"]!["application/json"]!["schema"]!;
        if (schema["$ref"] is { } reference)
        {
            schema = doc["components"]!["schemas"]![((string)reference!).Split('/')[^1]]!;
        }
        return schema.AsObject();
    }

    /// <summary>
    /// The document and the server agree on <paramref name="body"/>: it is valid against the request schema exactly when the
    /// server answers 200.
    /// </summary>
    private static async Task AssertAgree(ServerHost host, JsonNode doc, string path, string body)
    {
        var valid = RequestSchemaValidator.IsValid(RequestSchema(doc, path), JsonNode.Parse(body));
        var (status, answer) = await host.Post(path, body);
        Assert.True(valid == (status == 200), $"{path} {body}: the document {(valid ? "allows" : "refuses")} it; the server answered {status} {answer?.ToJsonString()}");
    }

    private static List<string> Names(JsonNode? array) => array is null ? [] : [.. array.AsArray().Select(n => (string)n!)];

    /// <summary>A required text: a non-empty string, null not allowed (the server refuses null like a missing field).</summary>
    private static void AssertText(JsonObject schema, string field)
    {
        var p = schema["properties"]![field]!;
        Assert.Equal(System.Text.Json.JsonValueKind.String, p["type"]!.GetValueKind());
        Assert.Equal("string", (string)p["type"]!);
        Assert.Equal(1, (int)p["minLength"]!);
        Assert.Equal(ApiSchema.NotBlank, (string)p["pattern"]!);
    }

    private static void AssertBounds(JsonObject schema, string field, int min, int max)
    {
        var p = schema["properties"]![field]!;
        Assert.Equal(min, (double)p["minimum"]!);
        Assert.Equal(max, (double)p["maximum"]!);
    }

    /// <summary>
    /// <c>text</c> or <c>texts</c>, exactly one not null: a oneOf of the two required sets, each narrowed to its type, texts
    /// bounded by the server's limit.
    /// </summary>
    private static void AssertTextOrTexts(JsonObject schema, int maxTexts)
    {
        Assert.Null(schema["required"]);
        Assert.Equal([["text"], ["texts"]], schema["oneOf"]!.AsArray().Select(b => Names(b!["required"])));
        Assert.Equal(["string", "array"], schema["oneOf"]!.AsArray().Select((b, i) => (string)b!["properties"]![i == 0 ? "text" : "texts"]!["type"]!));
        var text = schema["properties"]!["text"]!;
        Assert.Equal(["null", "string"], text["type"]!.AsArray().Select(t => (string)t!).Order(StringComparer.Ordinal));
        Assert.Equal(1, (int)text["minLength"]!);
        Assert.Equal(ApiSchema.NotBlank, (string)text["pattern"]!);
        var texts = schema["properties"]!["texts"]!;
        Assert.Equal(["array", "null"], texts["type"]!.AsArray().Select(t => (string)t!).Order(StringComparer.Ordinal));
        Assert.Equal(1, (int)texts["minItems"]!);
        Assert.Equal(maxTexts, (int)texts["maxItems"]!);
        Assert.Equal(1, (int)texts["items"]!["minLength"]!);
        Assert.Equal(ApiSchema.NotBlank, (string)texts["items"]!["pattern"]!);
    }

    [Fact]
    public async Task Fill_mask_embed_and_attention_schemas_match_the_checks()
    {
        // A texts limit other than the default, so the document is seen to take it from the server's options.
        await using var host = await ServerHost.Start("masked-lm", o => o with { MaxTextsPerRequest = 7 });
        var doc = await Document(host);

        var fill = RequestSchema(doc, "/v1/fill-mask");
        Assert.Equal(["text"], Names(fill["required"]));
        AssertText(fill, "text");
        // Targets cap top_k before the server checks it (as HF caps it), so the maximum binds requests without targets only:
        // a oneOf of targets given (a word or a list) and targets null or absent with top_k bounded.
        Assert.Equal(RequestChecks.MinTopK, (double)fill["properties"]!["top_k"]!["minimum"]!);
        Assert.Null(fill["properties"]!["top_k"]!["maximum"]);
        var branches = fill["oneOf"]!.AsArray();
        Assert.Equal(["targets"], Names(branches[0]!["required"]));
        Assert.Equal("null", (string)branches[1]!["properties"]!["targets"]!["type"]!);
        Assert.Equal(RequestChecks.FillMaskMaxTopK, (double)branches[1]!["properties"]!["top_k"]!["maximum"]!);
        Assert.Equal(["text"], Names(RequestSchema(doc, "/v1/attention")["required"]));
        AssertText(RequestSchema(doc, "/v1/attention"), "text");

        var embed = RequestSchema(doc, "/v1/embed");
        AssertTextOrTexts(embed, 7);
        // null takes the default, as leaving the option out does; the names are taken in any ASCII letter case, as
        // sentence-transformers' Pooling lower-cases its mode.
        var pooling = embed["properties"]!["pooling"]!;
        Assert.Equal(["null", "string"], pooling["type"]!.AsArray().Select(t => (string)t!).Order(StringComparer.Ordinal));
        Assert.Equal("^(?:[cC][lL][sS]|[mM][eE][aA][nN])$", (string)pooling["pattern"]!);
        Assert.Equal(["cls", "mean"], RequestChecks.ChoiceNames<Pooling>());

        // What the document says is what the server does: {} lacks the required 'text' and is refused; the bounds are the checks'.
        Assert.Contains("text", Names(fill["required"]).Except(JsonNode.Parse("{}")!.AsObject().Select(p => p.Key)));
        var (status, body) = await host.Post("/v1/fill-mask", "{}");
        Assert.Equal(400, status);
        Assert.Equal("'text' is required: a non-empty string.", (string)body!["error"]!);
        // A blank text passes minLength but not the pattern, and the server refuses it.
        Assert.DoesNotMatch(new System.Text.RegularExpressions.Regex((string)fill["properties"]!["text"]!["pattern"]!, System.Text.RegularExpressions.RegexOptions.ECMAScript), " \t\n");
        (status, body) = await host.Post("/v1/fill-mask", new { text = " \t\n" });
        Assert.Equal(400, status);
        Assert.Equal("'text' must not be empty.", (string)body!["error"]!);
        (status, _) = await host.Post("/v1/fill-mask", new { text = "a [MASK] b", top_k = RequestChecks.FillMaskMaxTopK });
        Assert.Equal(200, status);
        (status, body) = await host.Post("/v1/fill-mask", new { text = "a [MASK] b", top_k = RequestChecks.FillMaskMaxTopK + 1 });
        Assert.Equal(400, status);
        Assert.Contains($"between {RequestChecks.MinTopK} and {RequestChecks.FillMaskMaxTopK}", (string)body!["error"]!, StringComparison.Ordinal);
        (status, _) = await host.Post("/v1/embed", new { texts = Enumerable.Repeat("a b", 7).ToArray(), pooling = "mean" });
        Assert.Equal(200, status);
        foreach (var spelling in new[] { " cls", "cls,mean", "1", "mean " })
        {
            (status, body) = await host.Post("/v1/embed", new { text = "a b", pooling = spelling });
            Assert.Equal(400, status);
            Assert.Equal($"'pooling' must be one of cls, mean (in any letter case); got '{spelling}'.", (string)body!["error"]!);
        }
        // An explicit null is not given, for every optional field; a required field's null is refused like its absence.
        foreach (var request in new[]
        {
            """{"text": "a b", "pooling": "MEAN"}""", """{"text": "a b", "pooling": "Cls"}""", """{"text": "a b", "pooling": " cls"}""",
            """{"text": "a b", "pooling": null, "normalize": null}""", """{"text": null, "texts": ["a b"]}""", """{"text": "a b", "texts": null}""",
            """{"text": null}""", """{"text": null, "texts": null}""", """{"texts": [null]}""", """{"text": "a", "texts": ["b"]}""",
            // Blank to the server (char.IsWhiteSpace) and not to ECMA-262's \s, and the other way round: the pattern was \S.
            """{"text": "\u0085"}""", """{"text": "\ufeff"}""", """{"texts": ["a", "\u00a0"]}""",
        })
        {
            await AssertAgree(host, doc, "/v1/embed", request);
        }
        await AssertAgree(host, doc, "/v1/fill-mask", """{"text": "a [MASK] b", "top_k": null}""");
        await AssertAgree(host, doc, "/v1/fill-mask", """{"text": null, "top_k": 2}""");
        foreach (var request in new[]
        {
            """{"text": "a [MASK] b", "top_k": 50}""", """{"text": "a [MASK] b", "top_k": 51}""", """{"text": "a [MASK] b", "top_k": 51, "targets": null}""",
            """{"text": "a [MASK] b", "top_k": 1000, "targets": ["dog", "cat"]}""", """{"text": "a [MASK] b", "top_k": 51, "targets": "dog"}""",
            """{"text": "a [MASK] b", "top_k": 0, "targets": "dog"}""", """{"text": "a [MASK] b", "top_k": 51, "targets": []}""",
        })
        {
            await AssertAgree(host, doc, "/v1/fill-mask", request);
        }
        // targets: one word or a non-empty list of words, as HF's "if isinstance(targets, str): targets = [targets]"; null is
        // not given.
        var targets = fill["properties"]!["targets"]!;
        Assert.Equal(["array", "null", "string"], targets["type"]!.AsArray().Select(t => (string)t!).Order(StringComparer.Ordinal));
        foreach (var value in new[]
        {
            "\"dog\"", "[\"dog\", \"cat\"]", "null", "\" \"", "\"\"", "[]", "[\"dog\", null]", "[\"dog\", \" \"]", "[\"dog\", 7]", "7", "{}", "[[\"dog\"]]",
        })
        {
            await AssertAgree(host, doc, "/v1/fill-mask", $$"""{"text": "a [MASK] b", "targets": {{value}}}""");
        }
        await AssertAgree(host, doc, "/v1/attention", """{"text": null}""");
        (status, _) = await host.Post("/v1/embed", new { texts = Enumerable.Repeat("a b", 8).ToArray() });
        Assert.Equal(422, status);
        (status, _) = await host.Post("/v1/embed", new { text = "a", texts = new[] { "b" } });
        Assert.Equal(400, status);
    }

    [Fact]
    public async Task The_texts_limit_is_also_bounded_by_the_queue()
    {
        await using var host = await ServerHost.Start("masked-lm", o => o with { MaxQueue = 3 });
        var embed = RequestSchema(await Document(host), "/v1/embed");
        Assert.Equal(3, (int)embed["properties"]!["texts"]!["maxItems"]!);
        var (status, _) = await host.Post("/v1/embed", new { texts = new[] { "a", "b", "c", "d" } });
        Assert.Equal(422, status);
    }

    [Fact]
    public async Task Ner_schema_requires_text_and_lists_the_aggregations()
    {
        await using var host = await ServerHost.Start("token-classification");
        var ner = RequestSchema(await Document(host), "/v1/ner");
        Assert.Equal(["text"], Names(ner["required"]));
        AssertText(ner, "text");
        Assert.Equal(["none", "simple", "first", "average", "max"], RequestChecks.ChoiceNames<AggregationStrategy>());
        // In any ASCII letter case, as HF's pipeline upper-cases the strategy's name.
        Assert.Equal("^(?:[nN][oO][nN][eE]|[sS][iI][mM][pP][lL][eE]|[fF][iI][rR][sS][tT]|[aA][vV][eE][rR][aA][gG][eE]|[mM][aA][xX])$",
            (string)ner["properties"]!["aggregation"]!["pattern"]!);
        // A stride leaves each 64-token window at least one of its 62 text tokens to move on by.
        AssertBounds(ner, "stride", 0, 61);
        var (status, _) = await host.Post("/v1/ner", "{}");
        Assert.Equal(400, status);
        var doc = await Document(host);
        // Two names were OR-ed into a third strategy (simple | first = average) and answered with 200; Python's upper() takes
        // the long s for S, the pattern does not.
        foreach (var request in new[]
        {
            """{"text": "a b", "aggregation": "FIRST"}""", """{"text": "a b", "aggregation": "Max"}""", """{"text": "a b", "aggregation": null}""",
            """{"text": "a b", "aggregation": "simple,first"}""", """{"text": "a b", "aggregation": "\u017Fimple"}""", """{"text": null}""",
            """{"text": "a b", "stride": -1}""", """{"text": "a b", "stride": 0}""", """{"text": "a b", "stride": 61}""", """{"text": "a b", "stride": 62}""",
        })
        {
            await AssertAgree(host, doc, "/v1/ner", request);
        }
    }

    [Fact]
    public async Task Qa_schema_requires_question_and_context_and_bounds_the_numbers()
    {
        await using var host = await ServerHost.Start("question-answering");
        var doc = await Document(host);
        var qa = RequestSchema(doc, "/v1/qa");
        Assert.Equal(["context", "question"], Names(qa["required"]).Order(StringComparer.Ordinal));
        AssertText(qa, "question");
        AssertText(qa, "context");
        AssertBounds(qa, "top_k", RequestChecks.MinTopK, RequestChecks.QaMaxTopK);
        AssertBounds(qa, "max_answer_length", RequestChecks.MinAnswerLength, RequestChecks.MaxAnswerLength);
        var (status, body) = await host.Post("/v1/qa", new { question = "q", context = "c d", top_k = RequestChecks.QaMaxTopK + 1 });
        Assert.Equal(400, status);
        Assert.Contains($"between {RequestChecks.MinTopK} and {RequestChecks.QaMaxTopK}", (string)body!["error"]!, StringComparison.Ordinal);
        (status, body) = await host.Post("/v1/qa", new { question = "q", context = "c d", max_answer_length = RequestChecks.MaxAnswerLength + 1 });
        Assert.Equal(400, status);
        Assert.Contains($"between {RequestChecks.MinAnswerLength} and {RequestChecks.MaxAnswerLength}", (string)body!["error"]!, StringComparison.Ordinal);
        await AssertAgree(host, doc, "/v1/qa", """{"question": "q", "context": "c d", "top_k": null, "max_answer_length": null, "handle_impossible_answer": null}""");
        await AssertAgree(host, doc, "/v1/qa", """{"question": null, "context": "c d"}""");
        await AssertAgree(host, doc, "/v1/qa", """{"question": "q", "context": "c d", "top_k": 0}""");
    }

    [Fact]
    public async Task Classify_schema_takes_text_or_texts_and_text_pair_only_with_text()
    {
        await using var host = await ServerHost.Start("sequence-classification");
        var doc = await Document(host);
        var classify = RequestSchema(doc, "/v1/classify");
        AssertTextOrTexts(classify, ApiSchema.MaxTexts(new ServerOptions { ModelDirectory = "" }));
        // The texts branch takes text_pair only null or absent.
        Assert.Equal("null", (string)classify["oneOf"]![1]!["properties"]!["text_pair"]!["type"]!);
        // A text when given, as the endpoint checks it; null is not given.
        var pair = classify["properties"]!["text_pair"]!;
        Assert.Equal(["null", "string"], pair["type"]!.AsArray().Select(t => (string)t!).Order(StringComparer.Ordinal));
        Assert.Equal(1, (int)pair["minLength"]!);
        Assert.Equal(ApiSchema.NotBlank, (string)pair["pattern"]!);
        var (status, body) = await host.Post("/v1/classify", new { text = "a", text_pair = " " });
        Assert.Equal(400, status);
        Assert.Equal("'text_pair' must not be empty.", (string)body!["error"]!);
        (status, _) = await host.Post("/v1/classify", new { texts = new[] { "a" }, text_pair = "b" });
        Assert.Equal(400, status);
        (status, _) = await host.Post("/v1/classify", "{}");
        Assert.Equal(400, status);
        foreach (var request in new[]
        {
            """{"texts": ["a"], "text_pair": null}""", """{"text": "a", "text_pair": null, "texts": null}""", """{"text": null, "texts": ["a"]}""",
            """{"texts": ["a"], "text_pair": "b"}""", """{"text": null, "texts": ["a"], "text_pair": "b"}""", """{"text_pair": "b"}""",
            """{"text": "a", "text_pair": "b"}""",
        })
        {
            await AssertAgree(host, doc, "/v1/classify", request);
        }
    }

    [Fact]
    public async Task Every_operation_declares_the_errors_it_can_answer_with_the_error_schema()
    {
        await using var host = await ServerHost.Start("masked-lm", o => o with { MaxBodyBytes = 2048 });
        var doc = await Document(host);
        var paths = doc["paths"]!.AsObject();
        Assert.Equal(["/health", "/v1/attention", "/v1/embed", "/v1/embeddings", "/v1/fill-mask"], paths.Select(p => p.Key).Order(StringComparer.Ordinal));
        foreach (var (path, item) in paths)
        {
            var (method, expected) = path == "/health" ? ("get", ApiErrors.Health) : ("post", ApiErrors.Endpoint);
            var responses = item![method]!["responses"]!.AsObject();
            Assert.Equal(["200", .. expected.Select(s => s.ToString(System.Globalization.CultureInfo.InvariantCulture))], responses.Select(r => r.Key).Order(StringComparer.Ordinal));
            foreach (var (code, response) in responses.Where(r => r.Key != "200"))
            {
                // OpenAI's clients read their own error shape.
                var schema = path == "/v1/embeddings" ? "OpenAiErrorResponse" : "ErrorResponse";
                Assert.Equal($"#/components/schemas/{schema}", (string)response!["content"]!["application/json"]!["schema"]!["$ref"]!);
                Assert.Equal(code is "429" or "503", response["headers"]?["Retry-After"] is not null);
            }
        }
        Assert.Equal("Request body over 2048 bytes.", (string)paths["/v1/embed"]!["post"]!["responses"]!["413"]!["description"]!);
        Assert.Equal(["error", "status"], doc["components"]!["schemas"]!["ErrorResponse"]!["properties"]!.AsObject().Select(p => p.Key).Order(StringComparer.Ordinal));

        // The server answers these statuses, with bodies of the declared shape.
        var (status, body) = await host.Post("/v1/embed", new { text = new string('a', 4000) });
        AssertError(413, status, body);
        using (var content = new StringContent("text=a", System.Text.Encoding.UTF8, "text/plain"))
        using (var response = await host.Client.PostAsync(new Uri("/v1/embed", UriKind.Relative), content))
        {
            AssertError(415, (int)response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync()));
        }
        (status, body) = await host.Post("/v1/embed", "{}");
        AssertError(400, status, body);
        Assert.Equal(["code", "message", "param", "type"],
            doc["components"]!["schemas"]!["OpenAiError"]!["properties"]!.AsObject().Select(p => p.Key).Order(StringComparer.Ordinal));
        (status, body) = await host.Post("/v1/embeddings", new { input = new string('a', 4000) });
        AssertOpenAiError(413, status, body);
        using (var content = new StringContent("input=a", System.Text.Encoding.UTF8, "text/plain"))
        using (var response = await host.Client.PostAsync(new Uri("/v1/embeddings", UriKind.Relative), content))
        {
            AssertOpenAiError(415, (int)response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync()));
        }
        (status, body) = await host.Post("/v1/embeddings", "{}");
        AssertOpenAiError(400, status, body);
    }

    private static void AssertOpenAiError(int expected, int status, JsonNode? body)
    {
        Assert.Equal(expected, status);
        Assert.Equal(["error"], body!.AsObject().Select(p => p.Key));
        Assert.Equal(["code", "message", "param", "type"], body["error"]!.AsObject().Select(p => p.Key).Order(StringComparer.Ordinal));
        Assert.Equal("invalid_request_error", (string?)body["error"]!["type"]);
        Assert.False(string.IsNullOrEmpty((string?)body["error"]!["message"]));
    }

    private static void AssertError(int expected, int status, JsonNode? body)
    {
        Assert.Equal(expected, status);
        Assert.Equal(["error", "status"], body!.AsObject().Select(p => p.Key).Order(StringComparer.Ordinal));
        Assert.Equal(expected, (int)body["status"]!);
        Assert.False(string.IsNullOrEmpty((string?)body["error"]));
    }
}
