using System.CommandLine;
using BertSharp.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace BertSharp.Cli.Commands;

/// <summary><c>bert serve</c>: the HTTP API and web page for one model directory or Hub id, until Ctrl+C / SIGTERM.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        // The defaults are the server's (ServerOptions), not restated here.
        var defaults = new ServerOptions { ModelDirectory = "" };
        var model = CommonOptions.ModelOption("The model directory or Hub id to serve (/health and the page name a Hub id as given, a directory by its final name).");
        var host = new Option<string>("--host") { Description = "Address to listen on: an IP address (0.0.0.0 or :: for all interfaces), localhost, or a host name (resolved at start-up; exactly its addresses are bound).", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "TCP port (0 = any free port).", DefaultValueFactory = _ => 8080 };
        var maxBatch = new Option<int>("--max-batch") { Description = "Most inputs per micro-batch (1 = no batching).", DefaultValueFactory = _ => defaults.MaxBatch };
        var maxLength = CommonOptions.MaxLength(CommonOptions.SentenceTransformersLength, longer: "the server answers 422 to longer inputs instead of truncating them");
        var maxQueue = new Option<int>("--max-queue") { Description = "Inputs waiting per endpoint before 429.", DefaultValueFactory = _ => defaults.MaxQueue };
        var timeout = new Option<double>("--timeout") { Description = "Seconds a request may wait for its result (503 beyond).", DefaultValueFactory = _ => defaults.Timeout.TotalSeconds };
        var window = new Option<double>("--batch-window-ms") { Description = "How long a micro-batch waits for more inputs (0: run with what is queued).", DefaultValueFactory = _ => defaults.BatchWindow.TotalMilliseconds };
        var maxBody = new Option<long>("--max-body-bytes") { Description = "Largest request body (413 beyond).", DefaultValueFactory = _ => defaults.MaxBodyBytes };
        var maxCandidates = new Option<int>("--max-fill-mask-candidates")
        {
            Description = "Most fill-mask candidates in one response, [MASK] tokens × top_k (422 beyond; each repeats the whole sequence).",
            DefaultValueFactory = _ => defaults.MaxFillMaskCandidates,
        };
        var maxTexts = new Option<int>("--max-texts-per-request")
        {
            Description = "Most texts in one classify, embed or embeddings request (422 beyond, 400 on /v1/embeddings as OpenAI answers; never more than --max-queue).",
            DefaultValueFactory = _ => defaults.MaxTextsPerRequest,
        };
        var maxPairs = new Option<int>("--max-zero-shot-pairs")
        {
            Description = "Most (text, hypothesis) pairs in one /zero-shot request, inputs × candidate labels (422 beyond; each pair is one forward input; never more than --max-queue).",
            DefaultValueFactory = _ => defaults.MaxZeroShotPairs,
        };
        var maxAttention = new Option<int>("--max-attention-length")
        {
            Description = "Longest /v1/attention input in tokens, capped at the longest input (422 beyond; the response grows with its square).",
            DefaultValueFactory = _ => defaults.MaxAttentionLength,
        };
        var maxWindows = new Option<int>("--max-context-windows")
        {
            Description = "Longest QA context, and NER text with a stride, as a multiple of the longest input in tokens (422 beyond).",
            DefaultValueFactory = _ => defaults.MaxContextWindows,
        };
        var device = CommonOptions.Device(defaults.Device);
        var threads = CommonOptions.Threads();
        var allowedHosts = new Option<string?>("--allowed-hosts")
        {
            Description = "Host header names to answer, comma-separated (* for any); others get 400 (DNS-rebinding protection). Default: localhost, 127.0.0.1, [::1] and the --host address.",
        };
        var cmd = new Command("serve", "Serve a model over HTTP: JSON endpoints (micro-batched; POST /v1/embeddings speaks OpenAI's embeddings API), /health, /openapi.json and a web page at /.")
        {
            model, host, port, maxBatch, maxLength, maxQueue, timeout, window, maxBody, maxCandidates, maxTexts, maxPairs, maxAttention, maxWindows, device,
            threads, allowedHosts,
        };
        var backend = new BackendOptions();
        foreach (var o in backend.All)
        {
            cmd.Options.Add(o);
        }
        cmd.SetAction(p =>
        {
            CommonOptions.ApplyThreads(p, threads);
            // Before the model loads: a bad --host fails at once.
            var urls = ServeAddresses.Urls(p.GetValue(host)!, p.GetValue(port));
            var options = new ServerOptions
            {
                ModelDirectory = p.GetValue(model)!,
                Device = p.GetValue(device)!,
                MaxBatch = p.GetValue(maxBatch),
                MaxLength = p.GetValue(maxLength),
                MaxQueue = p.GetValue(maxQueue),
                Timeout = ServerOptions.TimeoutFromSeconds(p.GetValue(timeout)),
                BatchWindow = ServerOptions.BatchWindowFromMilliseconds(p.GetValue(window)),
                MaxBodyBytes = p.GetValue(maxBody),
                MaxFillMaskCandidates = p.GetValue(maxCandidates),
                MaxTextsPerRequest = p.GetValue(maxTexts),
                MaxZeroShotPairs = p.GetValue(maxPairs),
                MaxAttentionLength = p.GetValue(maxAttention),
                MaxContextWindows = p.GetValue(maxWindows),
                AllowedHosts = AllowedHosts(p.GetValue(allowedHosts), p.GetValue(host)!),
                Backend = backend.Resolve(p, p.GetValue(model)!),
            };
            // The host logs a start-up failure (a port in use) with its stack trace, and Run() then throws it, which the CLI
            // reports in one line: the log would only bury that line.
            using var app = BertServer.Build(options, b => b.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None));
            foreach (var url in urls)
            {
                app.Urls.Add(url);
            }
            app.Lifetime.ApplicationStarted.Register(() =>
            {
                var served = app.Services.GetRequiredService<ServedModel>();
                // The bound addresses, not the requested ones: with --port 0 the port is chosen now.
                var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? app.Urls;
                Console.Out.WriteLine(Banner(options.ModelDirectory, served.Architecture, served.MaxLength, served.PairInput, served.Backend.OnnxPath, addresses));
                if (served.Length.Warning is { } w)
                {
                    CliErrors.Warn(w);
                }
            });
            app.Run();
            return 0;
        });
        return cmd;
    }

    /// <summary>The line saying what is served where, the paths shown as data: an escape in one drove the terminal.</summary>
    internal static string Banner(string modelDirectory, string architecture, int maxLength, bool pairInput, string? onnx, IEnumerable<string> addresses)
    {
        var engine = onnx is null ? "" : $", classify/embed on ONNX Runtime: {CliErrors.Shown(onnx)}";
        return $"serving {CliErrors.Shown(modelDirectory)} ({architecture}, inputs up to {maxLength} tokens{(pairInput ? ", sentence pairs" : "")}{engine}) on {string.Join(", ", addresses)}";
    }

    /// <summary>The explicit list, else the loopback names plus the address the server was asked to bind (unless a wildcard).</summary>
    internal static IReadOnlyList<string> AllowedHosts(string? list, string bindHost)
    {
        if (list is not null)
        {
            return [.. list.Split(',', StringSplitOptions.TrimEntries)];
        }
        var wildcard = bindHost is "0.0.0.0" or "::" or "[::]" or "*" or "+";
        return wildcard || ServerOptions.LoopbackHosts.Contains(bindHost)
            ? ServerOptions.LoopbackHosts
            : [.. ServerOptions.LoopbackHosts, bindHost];
    }
}
