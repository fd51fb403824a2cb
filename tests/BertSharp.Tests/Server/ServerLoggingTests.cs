using System.Collections.Concurrent;
using BertSharp.Server;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Logging;

namespace BertSharp.Tests.Server;

/// <summary>
/// bert serve logged four ASP.NET Information lines to stdout per request ("Request starting", "Executing endpoint", ...):
/// the framework now speaks from Warning up unless the configuration sets a log level, as Logging__LogLevel__Default does.
/// </summary>
public sealed class ServerLoggingTests
{
    [Fact]
    public async Task A_request_logs_no_information_line_unless_the_configuration_sets_a_log_level()
    {
        var quiet = new RecordingLogger();
        await using var host = await ServerHost.Start("base-model", configure: b => b.Logging.AddProvider(quiet));
        await host.Health();
        Assert.DoesNotContain(quiet.Entries, e => e.Level < LogLevel.Warning);

        // The same request with the level raised, as the environment variable Logging__LogLevel__Default=Information does:
        // the recorder does see the framework's request lines when they are asked for. (A second app over the same model
        // directory: no second fixture copy.)
        var loud = new RecordingLogger();
        await using var raised = BertServer.Build(new ServerOptions { ModelDirectory = host.ModelDirectory, Device = "cpu" }, b =>
        {
            b.WebHost.UseTestServer();
            b.Logging.ClearProviders();
            b.Configuration["Logging:LogLevel:Default"] = "Information";
            b.Logging.AddProvider(loud);
        });
        await raised.StartAsync();
        using var client = raised.GetTestClient();
        using var response = await client.GetAsync(new Uri("/health", UriKind.Relative));
        Assert.Equal(200, (int)response.StatusCode);
        await raised.StopAsync();
        Assert.Contains(loud.Entries, e => e.Category == "Microsoft.AspNetCore.Hosting.Diagnostics" && e.Level == LogLevel.Information);
    }

    private sealed class RecordingLogger : ILoggerProvider
    {
        private readonly ConcurrentQueue<(string Category, LogLevel Level)> _entries = new();

        public IReadOnlyCollection<(string Category, LogLevel Level)> Entries => _entries;

        public ILogger CreateLogger(string categoryName) => new Category(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Category(RecordingLogger owner, string name) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                owner._entries.Enqueue((name, logLevel));
        }
    }
}
