using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using BertSharp.Modeling;
using BertSharp.Server;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using TorchSharp;

namespace BertSharp.Tests.Hardening;

/// <summary>Issue 21 item 13 (and issue 19 trap 7): content types, Host allow-list, security headers, JSON on every error, NaN models.</summary>
public sealed class ServerHardeningTests : IAsyncLifetime
{
    private ServerHost _host = null!;

    public async Task InitializeAsync() => _host = await ServerHost.Start("sequence-classification");

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static async Task<(int Status, JsonNode? Body, HttpResponseMessage Response)> Send(HttpClient client, HttpRequestMessage request)
    {
        var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var json = response.Content.Headers.ContentType?.MediaType == "application/json";
        return ((int)response.StatusCode, json ? JsonNode.Parse(text) : null, response);
    }

    [Theory]
    [InlineData("application/x-www-form-urlencoded", "'application/x-www-form-urlencoded'")] // curl -d
    [InlineData("text/plain", "'text/plain; charset=utf-8'")]
    [InlineData(null, "none")]
    public async Task A_body_that_is_not_declared_json_gets_415_saying_what_to_send(string? contentType, string named)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/classify");
        request.Content = new StringContent("""{"text":"a fine film"}""");
        request.Content.Headers.ContentType = contentType is null ? null : new MediaTypeHeaderValue(contentType) { CharSet = contentType == "text/plain" ? "utf-8" : null };
        var (status, body, _) = await Send(_host.Client, request);
        Assert.Equal(415, status);
        Assert.Equal(415, (int)body!["status"]!);
        var error = (string)body["error"]!;
        Assert.Contains("Content-Type: application/json", error);
        Assert.Contains("Content-Type is " + named, error);
        // The same body with the JSON type is served.
        Assert.Equal(200, (await _host.Post("/v1/classify", """{"text":"a fine film"}""")).Status);
    }

    [Theory]
    [InlineData("evil.example", 400)]
    [InlineData("evil.example:8080", 400)]
    [InlineData("localhost:8080", 200)]
    [InlineData("127.0.0.1", 200)]
    [InlineData("[::1]:1234", 200)]
    public async Task Only_loopback_host_names_are_answered_by_default(string host, int expected)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/health");
        request.Headers.Host = host;
        var (status, body, _) = await Send(_host.Client, request);
        Assert.Equal(expected, status);
        if (expected == 400)
        {
            Assert.Contains($"Host '{host.Split(':')[0]}' is not allowed", (string)body!["error"]!);
            // The client cannot tell how the server was started: the message names the flag and the library option.
            Assert.Contains("bert serve --allowed-hosts NAME", (string)body["error"]!);
            Assert.Contains("ServerOptions.AllowedHosts", (string)body["error"]!);
        }
    }

    [Fact]
    public async Task Allowed_hosts_are_configurable()
    {
        await using var host = await ServerHost.Start("sequence-classification", o => o with { AllowedHosts = ["api.example"] });
        foreach (var (name, expected) in new[] { ("api.example", 200), ("localhost", 400) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/health");
            request.Headers.Host = name;
            Assert.Equal(expected, (await Send(host.Client, request)).Status);
        }
        Assert.Equal(["localhost", "127.0.0.1", "[::1]", "::1", "10.0.0.5"], Cli.Commands.ServeCommand.AllowedHosts(null, "10.0.0.5"));
        Assert.Equal(ServerOptions.LoopbackHosts, Cli.Commands.ServeCommand.AllowedHosts(null, "0.0.0.0"));
        Assert.Equal(["a.example", "*"], Cli.Commands.ServeCommand.AllowedHosts("a.example, *", "127.0.0.1"));
    }

    // bert serve's opening line shows the model's and the graph's paths as data: an escape in one drove the terminal, U+202E
    // reversed the rest of the line.
    [Fact]
    public void Serve_shows_its_paths_as_data() =>
        Assert.Equal("serving m\\x1b[31mo\\u202edel (BertForSequenceClassification, inputs up to 128 tokens, sentence pairs, classify/embed on ONNX Runtime: " +
            "g\\x1b]8;;x\\x07.onnx) on http://127.0.0.1:5000",
            Cli.Commands.ServeCommand.Banner("m\u001b[31mo\u202edel", "BertForSequenceClassification", 128, pairInput: true, "g\u001b]8;;x\u0007.onnx", ["http://127.0.0.1:5000"]));

    [Theory]
    [InlineData("GET", "/")]
    [InlineData("GET", "/health")]
    [InlineData("GET", "/no/such/page")]
    [InlineData("POST", "/v1/classify")]
    public async Task Every_response_carries_the_security_headers(string method, string path)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method == "POST")
        {
            request.Content = new StringContent("""{"text":"ok"}""", System.Text.Encoding.UTF8, "application/json");
        }
        var (_, _, response) = await Send(_host.Client, request);
        // Written out rather than read from RequestGuards: a policy loosened there must fail here. The page loads its script,
        // style and images from the server alone; nothing may frame it, embed plugins, post forms or rebase its links.
        Assert.Equal("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; " +
                     "base-uri 'none'; form-action 'none'; frame-ancestors 'none'", response.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
        Assert.Equal("no-referrer", response.Headers.GetValues("Referrer-Policy").Single());
    }

    [Theory]
    [InlineData("GET", "/no/such/page", 404, "no such path: GET /no/such/page")]
    [InlineData("GET", "/v1/classify", 405, "method GET is not allowed on /v1/classify")]
    [InlineData("DELETE", "/health", 405, "method DELETE is not allowed on /health")]
    public async Task Framework_errors_get_json_bodies(string method, string path, int expected, string message)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        var (status, body, response) = await Send(_host.Client, request);
        Assert.Equal(expected, status);
        Assert.Equal("application/json; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        Assert.Contains(message, (string)body!["error"]!);
        Assert.Equal(expected, (int)body["status"]!);
    }

    [Fact]
    public async Task Oversized_headers_get_431_with_a_json_body_over_real_kestrel()
    {
        // TestServer has no header limits; Kestrel does, so this runs a real listener on a free loopback port.
        var options = new ServerOptions { ModelDirectory = _host.ModelDirectory, Device = "cpu" };
        await using var app = BertServer.Build(options, b => b.Logging.ClearProviders()); // no console log lines (see ServerHost)
        app.Urls.Add("http://127.0.0.1:0");
        await app.StartAsync();
        try
        {
            using var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
            using var request = new HttpRequestMessage(HttpMethod.Get, "/health");
            request.Headers.Add("X-Padding", new string('a', 40 << 10));
            var (status, body, response) = await Send(client, request);
            Assert.Equal(431, status);
            Assert.Contains("the limit is 32768", (string)body!["error"]!);
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
            using var missing = new HttpRequestMessage(HttpMethod.Get, "/nothing-here");
            var (s404, b404, _) = await Send(client, missing);
            Assert.Equal(404, s404);
            Assert.Contains("no such path", (string)b404!["error"]!);
        }
        finally
        {
            await app.StopAsync();
        }
    }

    [Fact]
    public async Task A_model_with_nan_weights_gets_a_clear_500_not_an_internal_error()
    {
        await using var host = await ServerHost.Start("sequence-classification", alter: PoisonClassifier);
        var (status, body) = await host.Post("/v1/classify", """{"text":"a fine film"}""");
        Assert.Equal(500, status);
        var error = (string)body!["error"]!;
        Assert.Contains("the model produced NaN logits", error);
        Assert.DoesNotContain("internal error", error);
        // Embeddings do not pass through the poisoned head: they still work.
        Assert.Equal(200, (await host.Post("/v1/embed", """{"text":"a fine film"}""")).Status);
    }

    internal static void PoisonClassifier(BertPreTrainedModel model)
    {
        using var noGrad = torch.no_grad();
        model.NamedParameters().Single(p => p.Name == "classifier.bias").Param.fill_(StableScalars.Of(double.NaN));
    }
}
