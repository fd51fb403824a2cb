using System.Text.Json.Nodes;
using BertSharp.Inference;
using BertSharp.Tests.Inference;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;
using Microsoft.Extensions.DependencyInjection;

namespace BertSharp.Tests.Server;

public sealed class ServerApiTests
{
    private const string TokenCase = "token-classification";
    private const string QaCase = "question-answering";

    [Fact]
    public async Task Health_and_openapi_list_exactly_the_endpoints_the_model_supports()
    {
        await using var host = await ServerHost.Start(TokenCase);
        var health = await host.Health();
        Assert.Equal("BertForTokenClassification", (string)health["architecture"]!);
        var endpoints = health["endpoints"]!.AsArray().Select(e => (string)e!).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["/v1/attention", "/v1/embed", "/v1/embeddings", "/v1/ner"], endpoints);

        var doc = JsonNode.Parse(await host.Client.GetStringAsync(new Uri("/openapi.json", UriKind.Relative)))!;
        var paths = doc["paths"]!.AsObject();
        Assert.Equal([.. endpoints, "/health"], paths.Select(p => p.Key).Order(StringComparer.Ordinal).ToList().OrderBy(p => p == "/health"));
        foreach (var e in endpoints)
        {
            Assert.NotNull(paths[e]!["post"]!["requestBody"]);
        }

        var (status, body) = await host.Post("/v1/qa", new { question = "q", context = "c" });
        Assert.Equal(404, status);
        Assert.Contains("needs BertForQuestionAnswering", (string)body!["error"]!, StringComparison.Ordinal);
    }

    // A client of a server listening on all interfaces learns the model's name, not where the server's files are.
    [Fact]
    public async Task Health_names_a_local_model_directory_by_its_final_name_only()
    {
        using var tmp = TestPaths.TempDir();
        var dir = Path.Combine(tmp.Path, "alice", "models", "x");
        TestPaths.CopyTree(HfFixture.Dir(TokenCase), dir);
        await using var host = await ServerHost.StartOn(dir + Path.DirectorySeparatorChar);
        var health = await host.Health();
        Assert.Equal("x", (string?)health["model"]);
        Assert.DoesNotContain(tmp.Path, health.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Embed_ner_and_attention_return_the_pipelines_results()
    {
        await using var host = await ServerHost.Start(TokenCase);
        var rows = InferenceFixtures.Rows(TokenCase);
        var texts = rows.Select(r => r.Text).ToArray();
        using var features = FeatureExtraction.Load(HfFixture.Dir(TokenCase));
        var expected = features.Embed(texts, new FeatureExtractionOptions(Pooling.Mean, Normalize: true));
        var (status, body) = await host.Post("/v1/embed", new { texts, pooling = "mean", normalize = true });
        Assert.Equal(200, status);
        Assert.Equal(64, (int)body!["dimension"]!);
        for (var i = 0; i < texts.Length; i++)
        {
            InferenceFixtures.AssertClose(expected[i], body["embeddings"]![i]!.AsArray().Select(v => (float)v!).ToArray(), 1e-5, $"text {i}");
        }

        using var ner = TokenClassification.Load(HfFixture.Dir(TokenCase));
        // texts[0] holds an emoji, an [UNK] token that both show as the text it stands for.
        var entities = ner.Predict([texts[0]], AggregationStrategy.Average)[0];
        (status, body) = await host.Post("/v1/ner", new { text = texts[0], aggregation = "average" });
        Assert.Equal(200, status);
        var got = body!["entities"]!.AsArray();
        Assert.Equal(entities.Count, got.Count);
        for (var i = 0; i < entities.Count; i++)
        {
            Assert.Equal(entities[i].Entity, (string)got[i]!["entity"]!);
            Assert.Equal(entities[i].Word, (string)got[i]!["word"]!);
            Assert.Equal(entities[i].Start, (int)got[i]!["start"]!);
            Assert.Equal(entities[i].End, (int)got[i]!["end"]!);
            Assert.Equal(entities[i].Score, (double)got[i]!["score"]!, 6);
        }

        (status, body) = await host.Post("/v1/attention", new { text = "Us love they." });
        Assert.Equal(200, status);
        Assert.Equal(["[CLS]", "us", "love", "they", ".", "[SEP]"], body!["tokens"]!.AsArray().Select(t => (string)t!));
        var maps = body["attentions"]!.AsArray();
        Assert.Equal(2, maps.Count);
        Assert.All(maps, layer =>
        {
            Assert.Equal(4, layer!.AsArray().Count);
            // Each weight is rounded to 4 decimals, so a row's sum is off by at most half a unit of the 4th decimal per key.
            Assert.All(layer.AsArray(), head => Assert.All(head!.AsArray(), row => Assert.Equal(1.0, row!.AsArray().Sum(v => (double)v!), (row!.AsArray().Count * 0.00005) + 1e-6)));
        });
    }

    // A text over the max length is tagged in windows with "stride" (as TokenClassification.Predict with stride), refused
    // without it, and with it only up to --max-context-windows windows' worth of tokens (4 × 64 by default).
    [Fact]
    public async Task Ner_with_stride_tags_a_long_text_as_the_pipeline_does()
    {
        await using var host = await ServerHost.Start(TokenCase);
        var text = string.Join(' ', Enumerable.Repeat("I said that never in my life had I seen a place like Bangor.", 6));
        using var ner = TokenClassification.Load(HfFixture.Dir(TokenCase));
        var entities = ner.Predict([text], AggregationStrategy.First, stride: 16)[0];
        Assert.Equal(text.Length, entities[^1].End);
        var (status, body) = await host.Post("/v1/ner", new { text, aggregation = "first", stride = 16 });
        Assert.Equal(200, status);
        var got = body!["entities"]!.AsArray();
        Assert.Equal(entities.Select(e => (e.Entity, e.Word, e.Start, e.End)),
            got.Select(g => ((string)g!["entity"]!, (string)g["word"]!, (int)g["start"]!, (int)g["end"]!)));
        Assert.All(entities.Zip(got), p => Assert.Equal(p.First.Score, (double)p.Second!["score"]!, 6));
        (status, body) = await host.Post("/v1/ner", new { text });
        Assert.Equal(422, status);
        Assert.Equal("'text' has 92 tokens (with special tokens); the limit is 64.", (string)body!["error"]!);
        (status, body) = await host.Post("/v1/ner", new { text = string.Join(' ', Enumerable.Repeat("the", 255)), stride = 16 });
        Assert.Equal(422, status);
        Assert.Equal("'text' has 257 tokens (with special tokens); the limit is 256.", (string)body!["error"]!);
    }

    [Fact]
    public async Task Qa_returns_the_pipeline_answers()
    {
        await using var host = await ServerHost.Start(QaCase);
        var row = InferenceFixtures.Rows(QaCase)[2];
        using var qa = QuestionAnswering.Load(HfFixture.Dir(QaCase));
        var expected = qa.Answer([(row.Text, row.Pair!)], new QuestionAnsweringOptions(TopK: 3, MaxLength: 64))[0];
        var (status, body) = await host.Post("/v1/qa", new { question = row.Text, context = row.Pair, top_k = 3 });
        Assert.Equal(200, status);
        var answers = body!["answers"]!.AsArray();
        Assert.Equal(expected.Select(a => a.Answer), answers.Select(a => (string)a!["answer"]!));
        Assert.Equal(expected[0].Score, (double)answers[0]!["score"]!, 6);
        // A v2.0 model's "no answer" (the empty answer at 0-0) is offered on request, as by bert qa --handle-impossible-answer;
        // the server could not ask for it. One-token answers keep every candidate within top_k, the empty one included.
        var withNone = qa.Answer([(row.Text, row.Pair!)],
            new QuestionAnsweringOptions(TopK: 20, MaxLength: 64, MaxAnswerLength: 1, HandleImpossibleAnswer: true))[0];
        Assert.Contains(withNone, a => a.Answer == "");
        (status, body) = await host.Post("/v1/qa", new { question = row.Text, context = row.Pair, top_k = 20, max_answer_length = 1, handle_impossible_answer = true });
        Assert.Equal(200, status);
        answers = body!["answers"]!.AsArray();
        Assert.Equal(withNone.Select(a => (a.Answer, a.Start, a.End)), answers.Select(a => ((string)a!["answer"]!, (int)a["start"]!, (int)a["end"]!)));

        // A context of several windows is cut as bert qa cuts it, with HF's doc_stride (128, capped at half a window's context
        // room): the spans and their scores, which depend on each window's softmax, are the CLI's.
        var severalWindows = string.Join(' ', Enumerable.Range(0, 12).Select(k => row.Pair));
        var inWindows = qa.Answer([(row.Text, severalWindows)], new QuestionAnsweringOptions(TopK: 3, MaxLength: 64))[0];
        Assert.True(qa.Windows([(row.Text, severalWindows)], new QuestionAnsweringOptions(MaxLength: 64))[0].Count > 3);
        (status, body) = await host.Post("/v1/qa", new { question = row.Text, context = severalWindows, top_k = 3 });
        Assert.Equal(200, status);
        answers = body!["answers"]!.AsArray();
        Assert.Equal(inWindows.Select(a => (a.Start, a.End)), answers.Select(a => ((int)a!["start"]!, (int)a["end"]!)));
        Assert.Equal(inWindows.Select(a => Math.Round(a.Score, 6)), answers.Select(a => Math.Round((double)a!["score"]!, 6)));

        // Contexts may span several windows (4 × max length here) but not more; long questions are refused too.
        var longContext = string.Join(' ', Enumerable.Repeat("the", 5000));
        (status, body) = await host.Post("/v1/qa", new { question = "what ?", context = longContext });
        Assert.Equal(422, status);
        Assert.Equal("'context' has 5000 tokens (with special tokens); the limit is 256.", (string)body!["error"]!);
        (status, body) = await host.Post("/v1/qa", new { question = string.Join(' ', Enumerable.Repeat("why", 40)), context = "it is ." });
        Assert.Equal(422, status);
        Assert.Contains("'question' has 43 tokens", (string)body!["error"]!, StringComparison.Ordinal);
        (status, body) = await host.Post("/v1/qa", new { question = "what ?", context = "it is .", top_k = "two" });
        Assert.Equal(400, status);
        Assert.Contains("top_k: expected an integer", (string)body!["error"]!, StringComparison.Ordinal);
        (status, _) = await host.Post("/v1/qa", new { question = "what ?", context = string.Join(' ', Enumerable.Repeat("the cat sat .", 40)) + " television" });
        Assert.Equal(200, status);
    }

    [Fact]
    public async Task The_attention_and_qa_context_limits_are_server_options()
    {
        // The fixture's inputs go up to 64 tokens: by default attention takes 64 and a context 4 × 64.
        await using (var host = await ServerHost.Start(TokenCase, o => o with { MaxAttentionLength = 5 }))
        {
            var (status, body) = await host.Post("/v1/attention", new { text = "Us love they." });
            Assert.Equal(422, status);
            Assert.Equal("'text' has 6 tokens (with special tokens); the limit is 5.", (string)body!["error"]!);
            (status, body) = await host.Post("/v1/attention", new { text = "Us love they" });
            Assert.Equal(200, status);
            Assert.Equal(5, body!["tokens"]!.AsArray().Count);
        }
        await using (var host = await ServerHost.Start(QaCase, o => o with { MaxContextWindows = 2 }))
        {
            var (status, body) = await host.Post("/v1/qa", new { question = "what ?", context = string.Join(' ', Enumerable.Repeat("the", 129)) });
            Assert.Equal(422, status);
            Assert.Equal("'context' has 129 tokens (with special tokens); the limit is 128.", (string)body!["error"]!);
            (status, _) = await host.Post("/v1/qa", new { question = "what ?", context = string.Join(' ', Enumerable.Repeat("the", 128)) });
            Assert.Equal(200, status);
        }
        // As good as no limit: 64 × int.MaxValue tokens overflowed to a negative limit that refused every context.
        await using (var host = await ServerHost.Start(QaCase, o => o with { MaxContextWindows = int.MaxValue }))
        {
            var (status, _) = await host.Post("/v1/qa", new { question = "what ?", context = string.Join(' ', Enumerable.Repeat("the", 300)) });
            Assert.Equal(200, status);
        }
    }

    [Theory]
    [InlineData("{\"question\": \" \", \"context\": \"it is .\"}", 400, "'question' must not be empty.")]
    [InlineData("{\"question\": \"what ?\", \"context\": \"\\t\\n\"}", 400, "'context' must not be empty.")]
    [InlineData("{\"question\": \"\", \"context\": \"\"}", 400, "'question' must not be empty.")]
    [InlineData("{\"question\": \"what ?\"}", 400, "'context' is required: a non-empty string.")]
    // Past the blank check: 200 with no answer. In the pipeline it would fail the whole batch, as a 500.
    [InlineData("{\"question\": \"what ?\", \"context\": \"\\u200b\\u0007\"}", 422,
        "'context': no word pieces (only characters the tokenizer drops, such as control or zero-width ones); expected text.")]
    public async Task A_blank_qa_question_or_context_is_refused_by_the_pipelines_rule(string json, int expected, string message)
    {
        await using var host = await ServerHost.Start(QaCase);
        var (status, body) = await host.Post("/v1/qa", json);
        Assert.Equal(expected, status);
        Assert.Equal(message, (string)body!["error"]!);
        // The field the server names is the one the pipeline would refuse.
        var request = JsonNode.Parse(json)!;
        if (request["context"] is not null)
        {
            using var qa = QuestionAnswering.Load(HfFixture.Dir(QaCase), "cpu");
            var field = message.Split('\'')[1];
            Action answer = () => qa.Answer([((string)request["question"]!, (string)request["context"]!)]);
            if (expected == 400)
            {
                Assert.StartsWith($"inputs[0]: the {field} is empty", Assert.Throws<ArgumentException>(answer).Message, StringComparison.Ordinal);
            }
            else
            {
                Assert.StartsWith($"inputs[0] {field}: no word pieces", Assert.Throws<BertSharpException>(answer).Message, StringComparison.Ordinal);
            }
        }
    }

    public static TheoryData<string, string, int, string> BadRequests => new()
    {
        { "/v1/embed", "{\"text\": ", 400, "invalid JSON at line 1" },
        { "/v1/embed", "not json at all", 400, "invalid JSON at line 1, byte 2" },
        { "/v1/embed", "{\"text\": \"   \"}", 400, "'text' must not be empty" },
        { "/v1/ner", "{\"text\": \"\"}", 400, "'text' must not be empty" },
        { "/v1/ner", "{}", 400, "'text' is required" },
        { "/v1/ner", "{\"text\": \"\\u200b\\u0007\"}", 422, "'text': no word pieces (only characters the tokenizer drops, such as control or zero-width ones); expected text." },
        { "/v1/embed", "{\"text\": 42}", 400, "text: expected a string" },
        { "/v1/embed", "{\"texts\": \"one\"}", 400, "texts: expected an array of strings" },
        { "/v1/embed", "{\"text\": \"a\", \"normalize\": \"yes\"}", 400, "normalize: expected true or false" },
        { "/v1/embed", "{\"text\": \"a\", \"pooling\": \"max\"}", 400, "'pooling' must be one of cls, mean" },
        { "/v1/ner", "{\"text\": \"a\", \"aggregation\": 3}", 400, "aggregation: expected a string" },
        { "/v1/ner", "{\"text\": \"a\", \"stride\": -1}", 400, "'stride' -1: expected a number ≥ 0." },
        { "/v1/ner", "{\"text\": \"a\", \"stride\": 62}", 400, "'stride' 62 must be smaller than the 62 tokens a 64-token window leaves for text" },
        { "/v1/ner", "{\"text\": \"a\", \"stride\": 2, \"aggregation\": \"none\"}", 400, "'stride' 2 cannot be used with 'aggregation' none" },
        { "/v1/embed", "{\"text\": \"a\", \"txt\": \"b\"}", 400, "unknown field 'txt'" },
        { "/v1/embed", "[1, 2]", 400, "expected a JSON object as the body" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Bad_requests_get_a_clear_4xx_and_the_server_keeps_serving(string path, string json, int status, string message)
    {
        await using var host = await ServerHost.Start(TokenCase);
        var (got, body) = await host.Post(path, json);
        Assert.Equal(status, got);
        Assert.Equal(status, (int)body!["status"]!);
        Assert.Contains(message, (string)body["error"]!, StringComparison.Ordinal);
        await AssertStillServing(host);
    }

    [Fact]
    public async Task Ten_megabyte_body_gets_413_and_5000_token_text_gets_422_naming_the_limit()
    {
        await using var host = await ServerHost.Start(TokenCase);
        var huge = "{\"text\": \"" + new string('a', 10 << 20) + "\"}";
        var (status, body) = await host.Post("/v1/embed", huge);
        Assert.Equal(413, status);
        Assert.Contains("limit is 1048576 bytes", (string)body!["error"]!, StringComparison.Ordinal);
        await AssertStillServing(host);

        // A body that announces no length (chunked) is capped while it is read.
        using (var chunked = new HttpRequestMessage(HttpMethod.Post, new Uri("/v1/embed", UriKind.Relative)))
        {
            chunked.Content = new StreamContent(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(huge)));
            chunked.Content.Headers.ContentType = new("application/json");
            chunked.Headers.TransferEncodingChunked = true;
            using var response = await host.Client.SendAsync(chunked);
            Assert.Equal(413, (int)response.StatusCode);
        }

        var longText = string.Join(' ', Enumerable.Repeat("the", 5000));
        (status, body) = await host.Post("/v1/ner", new { text = longText });
        Assert.Equal(422, status);
        Assert.Equal("'text' has 5002 tokens (with special tokens); the limit is 64.", (string)body!["error"]!);
        (status, _) = await host.Post("/v1/embed", new { texts = new[] { "fine", longText } });
        Assert.Equal(422, status);
        await AssertStillServing(host);
    }

    [Fact]
    public async Task Static_assets_come_only_from_the_assembly()
    {
        await using var host = await ServerHost.Start(TokenCase);
        using var page = await host.Client.GetAsync(new Uri("/", UriKind.Relative));
        Assert.Equal(200, (int)page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
        foreach (var probe in new[] { "/static/..%2Fconfig.json", "/static/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd", "/static/config.json", "/../config.json" })
        {
            using var r = await host.Client.GetAsync(new Uri(probe, UriKind.Relative));
            Assert.Equal(404, (int)r.StatusCode);
        }
    }

    // Many concurrent single-text requests must share forward passes: with a 50 ms window, 48 requests fired at once run in
    // far fewer batches than requests, and every one gets its own correct vector.
    [Fact]
    public async Task Concurrent_requests_are_micro_batched()
    {
        await using var host = await ServerHost.Start(TokenCase, o => o with { BatchWindow = TimeSpan.FromMilliseconds(50), MaxBatch = 16 });
        var texts = Enumerable.Range(0, 48).Select(i => $"the cat sat {i} times .").ToArray();
        var results = await Task.WhenAll(texts.Select(t => host.Post("/v1/embed", new { text = t })));
        Assert.All(results, r => Assert.Equal(200, r.Status));
        var stats = (await host.Health())["batching"]!["embed"]!;
        Assert.Equal(48, (long)stats["requests"]!);
        var batches = (long)stats["batches"]!;
        Assert.True(batches < 48, $"{batches} batches for 48 requests");

        using var features = FeatureExtraction.Load(HfFixture.Dir(TokenCase));
        var expected = features.Embed(texts);
        for (var i = 0; i < texts.Length; i++)
        {
            InferenceFixtures.AssertClose(expected[i], results[i].Body!["embeddings"]![0]!.AsArray().Select(v => (float)v!).ToArray(), 1e-5, texts[i]);
        }
    }

    // Shutdown while ten requests wait in an open batch: stopping must run them, not drop them. The window outlasts any
    // wait here (a stop ends it at once, so it costs nothing): with 2 s, a loaded machine that took longer to queue the ten
    // ran the first few alone, and the pending count the loop waits for never came.
    [Fact]
    public async Task Stopping_the_server_finishes_queued_requests()
    {
        var host = await ServerHost.Start(TokenCase, o => o with { BatchWindow = TimeSpan.FromMinutes(10), Timeout = TimeSpan.FromMinutes(10) });
        try
        {
            var batchers = host.App.Services.GetRequiredService<BertSharp.Server.BatcherRegistry>();
            var requests = Enumerable.Range(0, 10).Select(i => host.Post("/v1/embed", new { text = $"sentence {i}" })).ToArray();
            var waited = System.Diagnostics.Stopwatch.StartNew();
            while (batchers.Stats["embed"].Pending < 10)
            {
                Assert.True(waited.Elapsed < TimeSpan.FromMinutes(2), $"only {batchers.Stats["embed"]} after 2 minutes");
                await Task.Delay(10);
            }
            await host.App.StopAsync();
            var results = await Task.WhenAll(requests);
            Assert.All(results, r => Assert.Equal(200, r.Status));
            Assert.Equal(new BertSharp.Server.BatcherStats(10, 1, 0), batchers.Stats["embed"]);
        }
        finally
        {
            await host.DisposeAsync();
        }
    }

    private static async Task AssertStillServing(ServerHost host)
    {
        var (status, body) = await host.Post("/v1/embed", new { text = "still here" });
        Assert.Equal(200, status);
        Assert.Equal(64, body!["embeddings"]![0]!.AsArray().Count);
        Assert.Equal("ok", (string)(await host.Health())["status"]!);
    }
}
