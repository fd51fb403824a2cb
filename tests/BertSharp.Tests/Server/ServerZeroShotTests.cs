using System.Text.Json.Nodes;
using BertSharp.Inference;
using BertSharp.Server;
using BertSharp.Tests.Inference;

namespace BertSharp.Tests.Server;

/// <summary>
/// <c>POST /zero-shot</c> in the shape of HF's Inference API (<c>{"inputs", "parameters": {"candidate_labels", ...}}</c>,
/// answered with <c>{sequence, labels, scores}</c>, or an array of them for an array of inputs) over the three-label NLI model
/// of <see cref="CrossEncoderFixture.Nli"/>, against <see cref="ZeroShotClassifier"/> run directly on the same inputs (which
/// ZeroShotClassifierTests checks against HF's pipeline).
/// </summary>
public sealed class ServerZeroShotTests
{
    private const double Tolerance = 1e-6;

    private static readonly string[] Candidates = ["music", "film", "school", "drama"];

    private static void AssertResult(ZeroShotResult expected, JsonNode? actual)
    {
        var o = actual!.AsObject();
        Assert.Equal(["sequence", "labels", "scores"], o.Select(kv => kv.Key));
        Assert.Equal(expected.Sequence, (string)o["sequence"]!);
        Assert.Equal(expected.Labels, o["labels"]!.AsArray().Select(l => (string)l!));
        var scores = o["scores"]!.AsArray().Select(s => (double)s!).ToList();
        Assert.Equal(expected.Scores.Count, scores.Count);
        for (var i = 0; i < scores.Count; i++)
        {
            Assert.Equal(expected.Scores[i], scores[i], Tolerance);
        }
    }

    [Fact]
    public async Task Zero_shot_answers_hfs_shape_with_the_librarys_scores()
    {
        using var nli = CrossEncoderFixture.Nli("contradiction", "neutral", "entailment");
        await using var host = await ServerHost.StartOn(nli.Path);
        using var zs = ZeroShotClassifier.Load(nli.Path, "cpu");
        const string text = "the cat sat on the table .";

        // A lone text is answered with one result, not an array of one.
        var (status, body) = await host.Post("/zero-shot", new { inputs = text, parameters = new { candidate_labels = Candidates } });
        Assert.Equal(200, status);
        var expected = zs.Classify(text, Candidates);
        AssertResult(expected, body);
        // The scores spread and the sort moved the labels: the order checked is not the order given.
        Assert.NotEqual(Candidates, expected.Labels);

        // An array of texts, the labels as one comma-separated string (split as HF splits it), multi-label and a template:
        // an array of results in the inputs' order, each the library's.
        string[] texts = [text, "the pound rose against the dollar ."];
        (status, body) = await host.Post("/zero-shot", new
        {
            inputs = texts,
            parameters = new { candidate_labels = " music, film,,school ", multi_label = true, hypothesis_template = "It is about {}." },
        });
        Assert.Equal(200, status);
        var results = body!.AsArray();
        var many = zs.Classify(texts, ["music", "film", "school"], "It is about {}.", multiLabel: true);
        Assert.Equal(2, results.Count);
        AssertResult(many[0], results[0]);
        AssertResult(many[1], results[1]);
        Assert.True(Math.Abs(many[0].Scores.Sum() - 1) > 1e-3, "multi-label scores that sum to 1 cannot tell multi_label from the default");

        // A text over the served length is cut (only the text, as the pipeline cuts it), not refused.
        var longText = string.Join(' ', Enumerable.Repeat("the cat sat .", 30));
        (status, body) = await host.Post("/zero-shot", new { inputs = new[] { longText }, parameters = new { candidate_labels = Candidates } });
        Assert.Equal(200, status);
        AssertResult(zs.Classify(longText, Candidates), body![0]);
    }

    [Fact]
    public async Task Health_lists_zero_shot_and_the_openapi_document_states_its_limit()
    {
        using var nli = CrossEncoderFixture.Nli("contradiction", "neutral", "entailment");
        await using var host = await ServerHost.StartOn(nli.Path, o => o with { MaxZeroShotPairs = 12 });
        var health = await host.Health();
        Assert.Contains("/zero-shot", health["endpoints"]!.AsArray().Select(e => (string)e!));
        Assert.Contains("zero-shot", health["batching"]!.AsObject().Select(kv => kv.Key));
        var doc = JsonNode.Parse(await host.Client.GetStringAsync(new Uri("/openapi.json", UriKind.Relative)))!;
        var schemas = doc["components"]!["schemas"]!;
        var request = schemas["ZeroShotRequest"]!;
        Assert.Equal(["inputs", "parameters"], request["required"]!.AsArray().Select(n => (string)n!).Order(StringComparer.Ordinal));
        Assert.Contains("At most 12 inputs × candidate labels per request (422 beyond)", (string)request["description"]!, StringComparison.Ordinal);
        Assert.Equal(["candidate_labels"], schemas["ZeroShotParameters"]!["required"]!.AsArray().Select(n => (string)n!));
        var operation = doc["paths"]!["/zero-shot"]!["post"]!;
        Assert.Contains("at most 12 inputs × candidate labels per request (422 beyond)", (string)operation["description"]!, StringComparison.Ordinal);
        Assert.Equal("#/components/schemas/ZeroShotResult", (string)operation["responses"]!["200"]!["content"]!["application/json"]!["schema"]!["$ref"]!);
        Assert.NotNull(operation["responses"]!["422"]);
    }

    [Fact]
    public async Task Zero_shot_refuses_bad_requests_naming_the_field_and_the_pairs_over_the_limit()
    {
        using var nli = CrossEncoderFixture.Nli("contradiction", "neutral", "entailment");
        await using var host = await ServerHost.StartOn(nli.Path, o => o with { MaxZeroShotPairs = 4 });
        async Task Refused(object request, int status, string error)
        {
            var (s, body) = await host.Post("/zero-shot", request);
            Assert.Equal((status, error), (s, (string)body!["error"]!));
        }
        var labels = new { candidate_labels = new[] { "a", "b" } };
        await Refused(new { parameters = labels }, 400, "'inputs' is required: a string or a non-empty array of strings.");
        await Refused(new { inputs = " ", parameters = labels }, 400, "'inputs' must not be empty.");
        await Refused(new { inputs = new[] { "x", "" }, parameters = labels }, 400, "'inputs[1]' must not be empty.");
        await Refused(new { inputs = "x" }, 400, "'parameters' is required: an object with 'candidate_labels'.");
        await Refused(new { inputs = "x", parameters = new { multi_label = true } }, 400,
            "'parameters.candidate_labels' is required: an array of strings or one string of labels separated by commas.");
        await Refused(new { inputs = "x", parameters = new { candidate_labels = Array.Empty<string>() } }, 400, "'parameters.candidate_labels' must not be empty.");
        await Refused(new { inputs = "x", parameters = new { candidate_labels = new[] { "a", " " } } }, 400, "'parameters.candidate_labels[1]' must not be empty.");
        await Refused(new { inputs = "x", parameters = new { candidate_labels = " , " } }, 422, "parameters.candidate_labels: none given; expected at least one label.");
        await Refused(new { inputs = "x", parameters = new { candidate_labels = new[] { "a", "b", "a" } } }, 422,
            "parameters.candidate_labels[2]: \"a\" is given twice; expected each label once.");
        await Refused(new { inputs = "x", parameters = new { candidate_labels = "a, b, a" } }, 422,
            "parameters.candidate_labels[2]: \"a\" is given twice; expected each label once.");
        await Refused(new { inputs = "x", parameters = new { candidate_labels = "a", hypothesis_template = "It is about" } }, 422,
            "parameters.hypothesis_template \"It is about\": no {} where the label should go (e.g. \"This example is {}.\").");
        await Refused(new { inputs = new[] { "x", "\u200b\u0007" }, parameters = labels }, 422,
            "'inputs[1]': no word pieces (only characters the tokenizer drops, such as control or zero-width ones); expected text.");
        // The fixture's 64 tokens: a hypothesis of 62 word pieces leaves the text no room.
        var longLabel = string.Join(' ', Enumerable.Repeat("the", 58));
        var (status, body) = await host.Post("/zero-shot", new { inputs = "x", parameters = new { candidate_labels = new[] { "a", longLabel } } });
        Assert.Equal(422, status);
        Assert.StartsWith("parameters.candidate_labels[1]: the hypothesis \"This example is the the", (string)body!["error"]!, StringComparison.Ordinal);
        (status, body) = await host.Post("/zero-shot", new { inputs = "x", parameters = new { candidate_labels = "a", unknown = 1 } });
        Assert.Equal(400, status);
        Assert.Contains("unknown", (string)body!["error"]!, StringComparison.Ordinal);

        // Each label is one pair per input: 2 × 2 fit the limit of 4, 2 × 3 and 5 × 1 do not.
        (status, _) = await host.Post("/zero-shot", new { inputs = new[] { "x", "y" }, parameters = labels });
        Assert.Equal(200, status);
        await Refused(new { inputs = new[] { "x", "y" }, parameters = new { candidate_labels = "a,b,c" } }, 422,
            "2 inputs × 3 candidate labels are 6 (text, hypothesis) pairs, each one forward input; the limit is 4 per request (bert serve --max-zero-shot-pairs, ServerOptions.MaxZeroShotPairs).");
        await Refused(new { inputs = new[] { "v", "w", "x", "y", "z" }, parameters = new { candidate_labels = "a" } }, 422,
            "5 inputs × 1 candidate labels are 5 (text, hypothesis) pairs, each one forward input; the limit is 4 per request (bert serve --max-zero-shot-pairs, ServerOptions.MaxZeroShotPairs).");
    }

    [Fact]
    public async Task A_model_without_an_entailment_label_or_no_classifier_has_no_zero_shot_endpoint()
    {
        await using (var host = await ServerHost.Start("sequence-classification"))
        {
            var (status, body) = await host.Post("/zero-shot", new { inputs = "x", parameters = new { candidate_labels = "a" } });
            Assert.Equal(404, status);
            // ZeroShotClassifier's own refusal, the model named as /health names it (its directory's final name, not its path).
            var name = Path.GetFileName(host.ModelDirectory);
            Assert.Equal($"/zero-shot is not available for this model: {name}: no entailment label; zero-shot classification needs an NLI model whose config.json " +
                "id2label names one starting with \"entail\" (this model's labels: LABEL_0, LABEL_1, LABEL_2). Available: /v1/embed, /v1/embeddings, /v1/attention, /v1/classify.",
                (string)body!["error"]!);
            Assert.DoesNotContain("/zero-shot", (await host.Health())["endpoints"]!.AsArray().Select(e => (string)e!));
        }
        await using (var host = await ServerHost.Start("masked-lm"))
        {
            var (status, body) = await host.Post("/zero-shot", new { inputs = "x", parameters = new { candidate_labels = "a" } });
            Assert.Equal(404, status);
            Assert.Equal("/zero-shot is not available for this model (BertForMaskedLM); it needs an NLI model, a BertForSequenceClassification of sentence pairs " +
                "whose config.json id2label names an entailment label. Available: /v1/embed, /v1/embeddings, /v1/attention, /v1/fill-mask.", (string)body!["error"]!);
        }
    }

    // curl -d sends form data. The content-type check covered only /v1, so this route outside it got the framework's bare
    // "HTTP 415 for POST /zero-shot." instead of the line the /v1 routes give.
    [Fact]
    public async Task Zero_shot_refuses_a_body_not_sent_as_json_naming_its_content_type()
    {
        using var nli = CrossEncoderFixture.Nli("contradiction", "neutral", "entailment");
        await using var host = await ServerHost.StartOn(nli.Path);
        foreach (var type in new[] { "application/x-www-form-urlencoded", "text/plain" })
        {
            using var content = new System.Net.Http.StringContent("inputs=a", System.Text.Encoding.UTF8, type);
            using var response = await host.Client.PostAsync(new Uri("/zero-shot", UriKind.Relative), content);
            var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            Assert.Equal((415, 415), ((int)response.StatusCode, (int)error["status"]!));
            Assert.Equal($"expected a JSON body with Content-Type: application/json; the request's Content-Type is '{type}; charset=utf-8' " +
                "(with curl, add -H 'Content-Type: application/json').", (string)error["error"]!);
        }
    }

    // A value inside parameters is described as a top-level one is, by what it should hold, and an unknown field there by
    // the fields parameters has: both were described from the request's own fields ("a value of another type", "expected
    // inputs, parameters").
    [Theory]
    [InlineData("""{"inputs":"a","parameters":{"candidate_labels":5}}""", "parameters.candidate_labels: expected a string or an array of strings.")]
    [InlineData("""{"inputs":"a","parameters":{"candidate_labels":"x,y","multi_label":"yes"}}""", "parameters.multi_label: expected true or false.")]
    [InlineData("""{"inputs":"a","parameters":{"candidate_labels":"x,y","hypothesis_template":3}}""", "parameters.hypothesis_template: expected a string.")]
    [InlineData("""{"inputs":"a","parameters":{"candidate_labels":"x,y","top_k":1}}""", "unknown field 'top_k'; expected candidate_labels, multi_label, hypothesis_template.")]
    [InlineData("""{"inputs":"a","parameters":"x,y"}""", "parameters: expected a JSON object (its fields are in /openapi.json).")]
    [InlineData("""{"inputs":"a","options":{},"parameters":{"candidate_labels":"x,y"}}""", "unknown field 'options'; expected inputs, parameters.")]
    public async Task A_wrong_value_inside_parameters_is_named_with_what_it_should_hold(string request, string error)
    {
        using var nli = CrossEncoderFixture.Nli("contradiction", "neutral", "entailment");
        await using var host = await ServerHost.StartOn(nli.Path);
        var (status, body) = await host.Post("/zero-shot", request);
        Assert.Equal((400, error), (status, (string)body!["error"]!));
    }
}
