using System.Text.Json.Nodes;
using BertSharp.Server;
using BertSharp.Tests.Inference;

namespace BertSharp.Tests.Server;

/// <summary>
/// <c>POST /rerank</c> in text-embeddings-inference's shape (a bare array of <c>{index, score, text?}</c>, most relevant first;
/// the sigmoid of the logit unless <c>raw_scores</c>) against HF's logits of the one-label <see cref="CrossEncoderFixture"/>.
/// </summary>
public sealed class ServerRerankTests
{
    private const double LogitTolerance = 1e-3;

    [Fact]
    public async Task Rerank_answers_teis_array_sorted_by_the_sigmoid_of_hf_logits()
    {
        using var tmp = CrossEncoderFixture.Temp();
        await using var host = await ServerHost.StartOn(tmp.Path);
        // The fixture's pairs under one query: HF's logits are those of pairs whose first text is the query, so each request
        // here holds one fixture pair, and the order is checked on a request of all four second texts against each other.
        var pairs = CrossEncoderFixture.Pairs;
        var hf = CrossEncoderFixture.HfLogits();
        for (var r = 0; r < pairs.Count; r++)
        {
            var (status, body) = await host.Post("/rerank", new { query = pairs[r].Text, texts = new[] { pairs[r].Pair }, return_text = true });
            Assert.Equal(200, status);
            var rank = Assert.Single(body!.AsArray())!.AsObject();
            Assert.Equal(["index", "text", "score"], rank.Select(kv => kv.Key));
            Assert.Equal((0, pairs[r].Pair), ((int)rank["index"]!, (string)rank["text"]!));
            Assert.Equal(CrossEncoderFixture.Sigmoid(hf[r]), (double)rank["score"]!, LogitTolerance / 4);
            (_, body) = await host.Post("/rerank", new { query = pairs[r].Text, texts = new[] { pairs[r].Pair }, raw_scores = true });
            Assert.Equal(hf[r], (double)body![0]!["score"]!, LogitTolerance);
        }

        string[] texts = [.. pairs.Select(p => p.Pair)];
        var (ok, ranked) = await host.Post("/rerank", new { query = "The cat sat.", texts });
        Assert.Equal(200, ok);
        var ranks = ranked!.AsArray().Select(n => n!.AsObject()).ToList();
        Assert.Equal(texts.Length, ranks.Count);
        // Without return_text there is no text field (TEI leaves it out).
        Assert.All(ranks, o => Assert.Equal(["index", "score"], o.Select(kv => kv.Key)));
        Assert.Equal(Enumerable.Range(0, texts.Length), ranks.Select(o => (int)o["index"]!).Order());
        var scores = ranks.Select(o => (double)o["score"]!).ToList();
        Assert.Equal(scores.OrderByDescending(s => s), scores);
        Assert.True(scores[0] > scores[^1]);
        // Row 0 of the fixture is ("The cat sat.", texts[0]): its score in the batch is HF's.
        Assert.Equal(CrossEncoderFixture.Sigmoid(hf[0]), (double)ranks.Single(o => (int)o["index"]! == 0)["score"]!, LogitTolerance / 4);
    }

    [Fact]
    public async Task Health_lists_rerank_and_the_openapi_document_describes_it()
    {
        using var tmp = CrossEncoderFixture.Temp();
        await using var host = await ServerHost.StartOn(tmp.Path);
        var health = await host.Health();
        Assert.Contains("/rerank", health["endpoints"]!.AsArray().Select(e => (string)e!));
        var doc = JsonNode.Parse(await host.Client.GetStringAsync(new Uri("/openapi.json", UriKind.Relative)))!;
        var schema = doc["components"]!["schemas"]!["RerankRequest"]!;
        Assert.Equal(["query", "texts"], schema["required"]!.AsArray().Select(n => (string)n!).Order(StringComparer.Ordinal));
        Assert.Equal(ApiSchema.MaxTexts(new ServerOptions { ModelDirectory = "" }), (int)schema["properties"]!["texts"]!["maxItems"]!);
        Assert.Equal("#/components/schemas/Rank", (string)doc["paths"]!["/rerank"]!["post"]!["responses"]!["200"]!["content"]!["application/json"]!["schema"]!["items"]!["$ref"]!);
    }

    [Fact]
    public async Task Rerank_refuses_bad_requests_as_the_other_endpoints_do()
    {
        using var tmp = CrossEncoderFixture.Temp();
        await using var host = await ServerHost.StartOn(tmp.Path);
        async Task Refused(object request, int status, string error)
        {
            var (s, body) = await host.Post("/rerank", request);
            Assert.Equal((status, error), (s, (string)body!["error"]!));
        }
        await Refused(new { query = " ", texts = new[] { "a" } }, 400, "'query' must not be empty.");
        await Refused(new { texts = new[] { "a" } }, 400, "'query' is required: a non-empty string.");
        await Refused(new { query = "q", texts = Array.Empty<string>() }, 400, "'texts' must not be empty.");
        await Refused(new { query = "q" }, 400, "'texts' is required: a non-empty array of strings.");
        await Refused(new { query = "q", texts = new[] { "a", "" } }, 400, "'texts[1]' must not be empty.");
        await Refused(new { query = "q", texts = Enumerable.Repeat("a", 257).ToArray() }, 422, "'texts' has 257 entries; the limit is 256 per request.");
        await Refused(new { query = "q", texts = new[] { "a" }, truncation_direction = "middle" }, 400, "'truncation_direction' must be one of left, right (in any letter case); got 'middle'.");
        // 1 + 62 word pieces and [CLS], [SEP], [SEP]: over the fixture's 64 together. TEI refuses it unless truncate is set.
        var longText = string.Join(' ', Enumerable.Repeat("the", 62));
        await Refused(new { query = "cat", texts = new[] { longText } }, 422, "'texts[0]' and 'query' have 66 tokens together (with special tokens); the limit is 64.");
        var (status, _) = await host.Post("/rerank", new { query = "cat", texts = new[] { longText }, truncate = true });
        Assert.Equal(200, status);
    }

    [Fact]
    public async Task Truncate_cuts_the_end_by_default_and_the_start_with_truncation_direction_left()
    {
        using var tmp = CrossEncoderFixture.Temp();
        await using var host = await ServerHost.StartOn(tmp.Path);
        // Over the fixture's 64 tokens; its two ends differ, so the two cuts read different pairs.
        var text = "the cat sat on the mat . " + string.Join(' ', Enumerable.Repeat("it was happy .", 20)) + " the pound rose against the dollar .";
        const string query = "The cat sat.";
        using var reranker = BertSharp.Inference.CrossEncoder.Load(tmp.Path, "cpu");
        var head = reranker.Predict([(query, text)], truncation: BertSharp.Tokenization.TruncationSide.Head)[0];
        var tail = reranker.Predict([(query, text)], truncation: BertSharp.Tokenization.TruncationSide.Tail)[0];
        Assert.NotEqual(head, tail, 4);
        foreach (var (direction, expected) in new[] { ((string?)null, head), ("right", head), ("LEFT", tail) })
        {
            var (status, body) = await host.Post("/rerank", new { query, texts = new[] { text }, truncate = true, truncation_direction = direction });
            Assert.Equal(200, status);
            Assert.Equal(expected, (double)body![0]!["score"]!, 6);
        }
    }

    [Fact]
    public async Task A_classifier_of_several_labels_has_no_rerank_endpoint()
    {
        await using var host = await ServerHost.Start("sequence-classification");
        var (status, body) = await host.Post("/rerank", new { query = "q", texts = new[] { "a" } });
        Assert.Equal(404, status);
        Assert.Equal("/rerank is not available for this model (BertForSequenceClassification with 3 labels); it needs a cross-encoder, a one-label " +
            "BertForSequenceClassification of sentence pairs. Available: /v1/embed, /v1/embeddings, /v1/attention, /v1/classify.", (string)body!["error"]!);
        Assert.DoesNotContain("/rerank", (await host.Health())["endpoints"]!.AsArray().Select(e => (string)e!));
    }

    // curl -d sends form data. The content-type check covered only /v1, so this route outside it got the framework's bare
    // "HTTP 415 for POST /rerank." instead of the line the /v1 routes give.
    [Fact]
    public async Task Rerank_refuses_a_body_not_sent_as_json_naming_its_content_type()
    {
        using var tmp = CrossEncoderFixture.Temp();
        await using var host = await ServerHost.StartOn(tmp.Path);
        foreach (var type in new[] { "application/x-www-form-urlencoded", "text/plain" })
        {
            using var content = new System.Net.Http.StringContent("query=q&texts=a", System.Text.Encoding.UTF8, type);
            using var response = await host.Client.PostAsync(new Uri("/rerank", UriKind.Relative), content);
            var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            Assert.Equal((415, 415), ((int)response.StatusCode, (int)error["status"]!));
            Assert.Equal($"expected a JSON body with Content-Type: application/json; the request's Content-Type is '{type}; charset=utf-8' " +
                "(with curl, add -H 'Content-Type: application/json').", (string)error["error"]!);
        }
    }
}
