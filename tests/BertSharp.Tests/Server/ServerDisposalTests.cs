using System.Net;
using System.Net.Sockets;
using BertSharp.Checkpoints.Onnx;
using BertSharp.Inference;
using BertSharp.Server;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace BertSharp.Tests.Server;

/// <summary>
/// The server owns the model it loads: an ONNX Runtime session or TorchSharp's native weights are released when the host ends
/// (after in-flight requests have had their answers) and when building or starting it fails, not kept for the life of the process.
/// </summary>
public sealed class ServerDisposalTests
{
    private static readonly string Model = HfFixture.Dir("sequence-classification");

    private static ServerOptions OnnxOptions(string onnx) =>
        new() { ModelDirectory = Model, Device = "cpu", Backend = new InferenceBackend(onnx, TestTorch.OrtThreads) };

    private static void Quiet(WebApplicationBuilder b)
    {
        b.WebHost.UseTestServer();
        b.Logging.ClearProviders();
    }

    [Fact]
    public async Task An_onnx_model_served_and_stopped_leaves_no_session_open()
    {
        using var tmp = TestPaths.TempDir();
        var onnx = tmp.File("model.onnx");
        OnnxExport.Export(Model, onnx);
        var app = BertServer.Build(OnnxOptions(onnx), Quiet);
        await app.StartAsync();
        using (var client = app.GetTestClient())
        using (var content = new StringContent("""{"text": "a tender , heartfelt family drama ."}""", System.Text.Encoding.UTF8, "application/json"))
        using (var response = await client.PostAsync(new Uri("/v1/classify", UriKind.Relative), content))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        // The classifier and the embeddings share one session.
        Assert.Equal(1, OnnxBertSession.OpenSessions(onnx));
        // Stopping releases it, whether or not the app is ever disposed; disposing it afterwards does no harm.
        await app.StopAsync();
        Assert.Equal(0, OnnxBertSession.OpenSessions(onnx));
        await app.DisposeAsync();
        Assert.Equal(0, OnnxBertSession.OpenSessions(onnx));
    }

    // The catch of a build whose endpoints fail to map after the app exists: the app, and the model with it, are released
    // before the exception reaches the caller, who gets no app to dispose.
    [Fact]
    public void A_build_whose_endpoint_setup_fails_leaves_no_session_open()
    {
        using var tmp = TestPaths.TempDir();
        var onnx = tmp.File("model.onnx");
        OnnxExport.Export(Model, onnx);
        // The endpoints are mapped after the app is built; the first of them asks the container for the batcher registry.
        var e = Assert.Throws<InvalidOperationException>(() => BertServer.Build(OnnxOptions(onnx), b =>
        {
            Quiet(b);
            b.Services.AddSingleton<BatcherRegistry>(_ => throw new InvalidOperationException("no batchers"));
        }));
        Assert.Equal("no batchers", e.Message);
        Assert.Equal(0, OnnxBertSession.OpenSessions(onnx));
    }

    [Fact]
    public void A_build_that_fails_after_loading_leaves_no_session_open()
    {
        using var tmp = TestPaths.TempDir();
        var onnx = tmp.File("model.onnx");
        OnnxExport.Export(Model, onnx);
        // A caller's configuration runs after the model has loaded; no app comes back for anyone to dispose.
        var e = Assert.Throws<InvalidOperationException>(() => BertServer.Build(OnnxOptions(onnx), _ => throw new InvalidOperationException("refused")));
        Assert.Equal("refused", e.Message);
        Assert.Equal(0, OnnxBertSession.OpenSessions(onnx));
    }

    // As `bert serve` runs it: Run() ends the host's lifetime when it cannot start, without the caller disposing the app.
    [Fact]
    public void A_server_whose_port_is_taken_leaves_no_session_open()
    {
        using var tmp = TestPaths.TempDir();
        var onnx = tmp.File("model.onnx");
        OnnxExport.Export(Model, onnx);
        using var busy = new TcpListener(IPAddress.Loopback, 0);
        busy.Start();
        var app = BertServer.Build(OnnxOptions(onnx), b => b.Logging.ClearProviders());
        app.Urls.Add($"http://127.0.0.1:{((IPEndPoint)busy.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
        Assert.Equal(1, OnnxBertSession.OpenSessions(onnx));
        Assert.Throws<IOException>(() => app.Run());
        Assert.Equal(0, OnnxBertSession.OpenSessions(onnx));
    }

    // A request waiting in the batcher when the server stops gets its answer from the live model; the weights are released
    // only after that, when the host is disposed.
    [Fact]
    public async Task A_torch_model_answers_the_request_in_flight_then_releases_its_weights()
    {
        // A long batch window keeps the request queued until the stop drains it.
        var options = new ServerOptions { ModelDirectory = Model, Device = "cpu", BatchWindow = TimeSpan.FromSeconds(20) };
        var app = BertServer.Build(options, Quiet);
        await app.StartAsync();
        var weight = app.Services.GetRequiredService<ServedModel>().Model.parameters().First();
        using var classifier = TextClassifier.Load(Model, "cpu", 64);
        const string text = "a tender , heartfelt family drama .";
        var expected = classifier.Predict(text, null);
        using var client = app.GetTestClient();
        using var content = new StringContent($$"""{"text": "{{text}}"}""", System.Text.Encoding.UTF8, "application/json");
        var posted = client.PostAsync(new Uri("/v1/classify", UriKind.Relative), content);
        var batchers = app.Services.GetRequiredService<BatcherRegistry>();
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!(batchers.Stats.TryGetValue("classify", out var s) && s.Pending == 1))
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(10), "the request never reached the batcher");
            await Task.Delay(5);
        }
        await app.StopAsync();
        // The stop drained the queue on the live model (the answer is the model's), then released the weights, without the
        // app being disposed.
        using var response = await posted;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = System.Text.Json.Nodes.JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(expected.Label, (string)body["predictions"]![0]!["label"]!);
        Assert.Equal(expected.Score, (double)body["predictions"]![0]!["score"]!, 6);
        Assert.True(weight.IsInvalid);
        await app.DisposeAsync();
        Assert.True(weight.IsInvalid);
    }
}
