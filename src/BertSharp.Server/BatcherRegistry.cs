using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;

namespace BertSharp.Server;

/// <summary>
/// The server's batchers by endpoint name. As a hosted service it stops after the web server, which has by then let in-flight
/// requests finish; stopping drains whatever is still queued.
/// </summary>
public sealed class BatcherRegistry(ServerOptions options) : IHostedService
{
    private readonly Dictionary<string, (Func<BatcherStats> Stats, Func<ValueTask> Stop)> _batchers = new(StringComparer.Ordinal);

    /// <summary>Creates and registers the batcher of endpoint <paramref name="name"/>.</summary>
    public MicroBatcher<TIn, TOut> Create<TIn, TOut>(string name, Func<IReadOnlyList<TIn>, IReadOnlyList<TOut>> run)
    {
        var b = new MicroBatcher<TIn, TOut>(run, options.MaxBatch, options.MaxQueue, options.BatchWindow);
        _batchers[name] = (() => b.Stats, b.DisposeAsync);
        return b;
    }

    /// <summary>Counters per endpoint.</summary>
    public IReadOnlyDictionary<string, BatcherStats> Stats => _batchers.ToDictionary(kv => kv.Key, kv => kv.Value.Stats());

    /// <summary>
    /// Queues every input of one request and waits for all results. A request with more inputs than the queue holds gets
    /// 422; one that waits longer than the configured timeout gets 503 (its inputs are skipped if they have not run yet).
    /// </summary>
    public async Task<TOut[]> Submit<TIn, TOut>(MicroBatcher<TIn, TOut> batcher, IReadOnlyList<TIn> inputs, HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(batcher);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(context);
        if (inputs.Count > options.MaxQueue)
        {
            // Such a request can never fit, even into an idle server: 429 "retry later" would send the client round forever.
            throw new ApiException(422,
                $"the request holds {inputs.Count} inputs and the queue takes at most {options.MaxQueue} (bert serve --max-queue, ServerOptions.MaxQueue); " +
                $"send at most {options.MaxQueue} per request.");
        }
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        cts.CancelAfter(options.Timeout);
        var tasks = new Task<TOut>[inputs.Count];
        try
        {
            for (var i = 0; i < tasks.Length; i++)
            {
                tasks[i] = batcher.Enqueue(inputs[i], cts.Token);
            }
        }
        catch (ApiException)
        {
            // A 429 (or 503) for one input answers the whole request: the inputs queued before it must not run for nobody.
            await cts.CancelAsync().ConfigureAwait(false);
            throw;
        }
        try
        {
            return await Task.WhenAll(tasks).WaitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
        {
            throw new ApiException(503, $"timed out after {options.Timeout.TotalSeconds:0.###} s waiting for the model; the server is overloaded, retry later.");
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        foreach (var (_, b) in _batchers)
        {
            await b.Stop().ConfigureAwait(false);
        }
    }
}
