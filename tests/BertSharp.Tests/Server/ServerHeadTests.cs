using BertSharp.Inference;
using BertSharp.Modeling;
using BertSharp.Server;
using BertSharp.Tests.Modeling;
using TorchSharp;

namespace BertSharp.Tests.Server;

/// <summary>The classify and fill-mask endpoints against the pipelines run directly on the same checkpoints.</summary>
public sealed class ServerHeadTests
{
    [Fact]
    public async Task Classify_returns_the_classifier_predictions_for_texts_and_pairs()
    {
        await using var host = await ServerHost.Start("sequence-classification");
        using var classifier = TextClassifier.Load(HfFixture.Dir("sequence-classification"), "cpu", 64);
        string[] texts = ["Us love they.", "a tender , heartfelt family drama . ", "I said that never in my life had I seen a place like Bangor."];
        var expected = classifier.Predict([.. texts.Select(t => (t, (string?)null))]);
        var (status, body) = await host.Post("/v1/classify", new { texts });
        Assert.Equal(200, status);
        var predictions = body!["predictions"]!.AsArray();
        for (var i = 0; i < texts.Length; i++)
        {
            Assert.Equal(expected[i].Label, (string)predictions[i]!["label"]!);
            Assert.Equal(expected[i].Score, (double)predictions[i]!["score"]!, 6);
            var labels = predictions[i]!["labels"]!.AsArray();
            Assert.Equal(3, labels.Count);
            Assert.Equal(1.0, labels.Sum(l => (double)l!["score"]!), 6);
            Assert.Equal(expected[i].Probabilities.Max(), (double)labels[0]!["score"]!, 6);
        }

        var pairExpected = classifier.Predict("The cat sat.", "It was happy.");
        (status, body) = await host.Post("/v1/classify", new { text = "The cat sat.", text_pair = "It was happy." });
        Assert.Equal(200, status);
        Assert.Equal(pairExpected.Score, (double)body!["predictions"]![0]!["score"]!, 6);
        // 4 + 60 word pieces and [CLS], [SEP], [SEP]: over the fixture's 64 together, though each text alone is within it.
        (status, body) = await host.Post("/v1/classify", new { text = "Us love they.", text_pair = string.Join(' ', Enumerable.Repeat("the", 60)) });
        Assert.Equal(422, status);
        Assert.Equal("'text' and 'text_pair' have 67 tokens together (with special tokens); the limit is 64.", (string)body!["error"]!);

        (status, body) = await host.Post("/v1/ner", new { text = "x" });
        Assert.Equal(404, status);
        Assert.Contains("/v1/classify", (string)body!["error"]!, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("masked-lm")]
    [InlineData("pretraining")]
    public async Task Fill_mask_returns_the_pipeline_candidates(string fixture)
    {
        await using var host = await ServerHost.Start(fixture);
        using var fill = FillMask.Load(HfFixture.Dir(fixture), "cpu");
        const string text = "the cat [MASK] on the [MASK] .";
        var expected = fill.Predict(text, 3);
        var (status, body) = await host.Post("/v1/fill-mask", new { text, top_k = 3 });
        Assert.Equal(200, status);
        var masks = body!["masks"]!.AsArray();
        Assert.Equal(2, masks.Count);
        for (var m = 0; m < 2; m++)
        {
            Assert.Equal(expected[m].Select(c => c.Token), masks[m]!.AsArray().Select(c => (string)c!["token"]!));
            Assert.Equal(expected[m][0].Score, (double)masks[m]![0]!["score"]!, 6);
        }

        (status, body) = await host.Post("/v1/fill-mask", new { text = "no mask here" });
        Assert.Equal(422, status);
        Assert.Contains("no [MASK] token", (string)body!["error"]!, StringComparison.Ordinal);
        (status, _) = await host.Post("/v1/fill-mask", new { text = "a [MASK]", top_k = 0 });
        Assert.Equal(400, status);
    }
    [Theory]
    [InlineData("sequence-classification")]
    [InlineData("pretraining")]
    [InlineData("question-answering")]
    public void The_served_model_is_built_from_the_config_read_to_pick_its_class(string fixture)
    {
        // config.json is parsed once: the config that chose the class (the classifier's path too) is the model's.
        var config = BertPretrained.LoadConfig(HfFixture.Dir(fixture), out var dir);
        using var served = ServedModel.Load(HfFixture.Dir(fixture), dir, config, torch.CPU, null, InferenceBackend.Torch);
        Assert.Same(config, served.Model.Config);
        Assert.Equal(fixture == "sequence-classification", served.Classifier is not null);
    }

    // Concurrent fill-mask requests with different lengths and top_k share padded forward passes; each gets its own answer.
    [Fact]
    public async Task Concurrent_fill_mask_requests_are_batched_and_keep_their_own_top_k()
    {
        await using var host = await ServerHost.Start("pretraining", o => o with { BatchWindow = TimeSpan.FromMilliseconds(50), MaxBatch = 16 });
        using var fill = FillMask.Load(HfFixture.Dir("pretraining"), "cpu");
        var requests = Enumerable.Range(0, 24)
            .Select(i => (Text: i % 3 == 0 ? $"the cat [MASK] on the mat {i} times ." : $"[MASK] {i} [MASK]", TopK: 1 + (i % 4)))
            .ToArray();
        var results = await Task.WhenAll(requests.Select(r => host.Post("/v1/fill-mask", new { text = r.Text, top_k = r.TopK })));
        var stats = (await host.Health())["batching"]!["fill-mask"]!;
        Assert.Equal(24, (long)stats["requests"]!);
        Assert.True((long)stats["batches"]! < 24, $"{(long)stats["batches"]!} batches for 24 requests");
        for (var i = 0; i < requests.Length; i++)
        {
            Assert.Equal(200, results[i].Status);
            var expected = fill.Predict(requests[i].Text, requests[i].TopK);
            var masks = results[i].Body!["masks"]!.AsArray();
            Assert.Equal(expected.Count, masks.Count);
            for (var m = 0; m < expected.Count; m++)
            {
                Assert.Equal(expected[m].Select(c => c.Token), masks[m]!.AsArray().Select(c => (string)c!["token"]!));
                Assert.Equal(expected[m][0].Score, (double)masks[m]![0]!["score"]!, 1e-7);
            }
        }
    }
}
