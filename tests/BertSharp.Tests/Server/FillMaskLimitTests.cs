using BertSharp.Server;
using BertSharp.Server.Endpoints;

namespace BertSharp.Tests.Server;

/// <summary>
/// Every fill-mask candidate repeats the whole sequence (HF's shape), so masks × top_k is capped: 254 masks at top_k 50 made
/// a 2 KB request answer 23 MB.
/// </summary>
public sealed class FillMaskLimitTests
{
    [Fact]
    public async Task Masks_times_top_k_over_the_limit_is_422_and_at_the_limit_keeps_the_pipeline_shape()
    {
        await using var host = await ServerHost.Start("masked-lm");
        var many = string.Join(' ', Enumerable.Repeat("[MASK]", 30));
        var (status, body) = await host.Post("/v1/fill-mask", new { text = many, top_k = 50 });
        Assert.Equal(422, status);
        Assert.Equal("'text' has 30 [MASK] tokens and top_k is 50: 1500 candidates, each with its filled-in sequence; the limit is 100 per request " +
                     "([MASK] tokens × top_k). Lower top_k to at most 3, or use fewer [MASK] tokens.", (string)body!["error"]!);

        (status, body) = await host.Post("/v1/fill-mask", new { text = string.Join(' ', Enumerable.Repeat("[MASK]", 20)), top_k = 5 });
        Assert.Equal(200, status);
        var masks = body!["masks"]!.AsArray();
        Assert.Equal(20, masks.Count);
        Assert.All(masks, m =>
        {
            Assert.Equal(5, m!.AsArray().Count);
            Assert.All(m.AsArray(), c => Assert.False(string.IsNullOrEmpty((string?)c!["sequence"])));
        });
    }

    // The fixtures' vocabularies are larger than the largest top_k, so the rule is checked on its own: a top_k over a
    // vocabulary reached the pipeline, whose refusal failed the whole micro-batch as a 500.
    [Fact]
    public void A_top_k_over_the_models_vocabulary_is_422()
    {
        var e = Assert.Throws<ApiException>(() => FillMaskEndpoint.CheckTopK(RequestChecks.FillMaskMaxTopK, 40, targets: false));
        Assert.Equal(422, e.Status);
        Assert.Equal("'top_k' is 50; the model's vocabulary has 40 tokens, expected at most that many without 'targets'.", e.Message);
        FillMaskEndpoint.CheckTopK(40, 40, targets: false);
        // With targets HF caps it at their number ("if top_k > target_ids.shape[0]: top_k = target_ids.shape[0]"), whatever
        // the vocabulary: the pipeline answers all of them.
        FillMaskEndpoint.CheckTopK(RequestChecks.FillMaskMaxTopK, 40, targets: true);
    }

    [Fact]
    public async Task The_limit_is_a_server_option()
    {
        await using var host = await ServerHost.Start("masked-lm", o => o with { MaxFillMaskCandidates = 4 });
        var (status, body) = await host.Post("/v1/fill-mask", new { text = "[MASK] [MASK] [MASK] [MASK] [MASK]", top_k = 1 });
        Assert.Equal(422, status);
        Assert.EndsWith("Use at most 4 [MASK] tokens per request.", (string)body!["error"]!, StringComparison.Ordinal);
        (status, _) = await host.Post("/v1/fill-mask", new { text = "a [MASK] b [MASK]", top_k = 2 });
        Assert.Equal(200, status);
    }
}
