namespace BertSharp.Tests.Server;

/// <summary>A request with more inputs than the queue holds can never be served: 422 saying so, not 429 "retry later".</summary>
public sealed class ServerQueueLimitTests
{
    [Fact]
    public async Task More_inputs_than_max_queue_is_422_and_a_request_that_fits_is_served()
    {
        await using var host = await ServerHost.Start("sequence-classification", o => o with { MaxQueue = 3 });
        var (status, body) = await host.Post("/v1/classify", new { texts = Enumerable.Repeat("a fine film", 256).ToArray() });
        Assert.Equal(422, status);
        Assert.Equal("the request holds 256 inputs and the queue takes at most 3 (bert serve --max-queue, ServerOptions.MaxQueue); send at most 3 per request.",
            (string)body!["error"]!);
        // Nothing of the refused request was queued: a request that fits runs at once.
        (status, _) = await host.Post("/v1/classify", new { texts = Enumerable.Repeat("a fine film", 3).ToArray() });
        Assert.Equal(200, status);
        Assert.Equal(0, (long)(await host.Health())["batching"]!["classify"]!["pending"]!);
    }
}
