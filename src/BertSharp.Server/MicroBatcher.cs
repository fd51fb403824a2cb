using System.Threading.Channels;

namespace BertSharp.Server;

/// <summary>Counters of one batcher.</summary>
/// <param name="Requests">Inputs run.</param>
/// <param name="Batches">Forward batches run.</param>
/// <param name="Pending">Inputs queued or running now.</param>
public sealed record BatcherStats(long Requests, long Batches, long Pending);

/// <summary>
/// Collects inputs from concurrent requests and runs them together: the first waiting input opens a batch, which takes
/// whatever else arrives within the batch window, up to the maximum batch size. One batch runs at a time.
/// </summary>
/// <typeparam name="TIn">One input.</typeparam>
/// <typeparam name="TOut">Its result.</typeparam>
public sealed class MicroBatcher<TIn, TOut> : IAsyncDisposable
{
    private sealed record Item(TIn Input, TaskCompletionSource<TOut> Result, CancellationToken Cancel);

    private readonly Channel<Item> _queue;
    private readonly Func<IReadOnlyList<TIn>, IReadOnlyList<TOut>> _run;
    private readonly int _maxBatch;
    private readonly TimeSpan _window;
    private readonly Task _worker;
    private long _requests;
    private long _batches;
    private long _pending;
    // Enqueue counts an input as pending and writes it under this lock, and stopping completes the queue under it: an input
    // counted before the stop is in the queue (and is drained), never refused half-way.
    private readonly Lock _gate = new();
    private bool _stopping;

    // Test seams for that interleaving: run between counting an input and queueing it, and when a stop begins.
    internal Action? AfterCounting { get; set; }
    internal Action? StopBeginning { get; set; }

    // Test seam: inputs in the queue that no batch has taken yet.
    internal int Queued => _queue.Reader.Count;

    /// <param name="run">Runs a batch; returns one result per input, in order.</param>
    /// <param name="maxBatch">Most inputs per batch.</param>
    /// <param name="maxQueue">Most inputs waiting; more are refused.</param>
    /// <param name="window">How long an open batch waits for more inputs.</param>
    public MicroBatcher(Func<IReadOnlyList<TIn>, IReadOnlyList<TOut>> run, int maxBatch, int maxQueue, TimeSpan window)
    {
        _run = run;
        _maxBatch = maxBatch;
        _window = window;
        _queue = Channel.CreateBounded<Item>(new BoundedChannelOptions(maxQueue) { FullMode = BoundedChannelFullMode.Wait });
        _worker = Task.Run(WorkAsync);
    }

    /// <summary>Inputs run and batches run so far.</summary>
    public BatcherStats Stats => new(Interlocked.Read(ref _requests), Interlocked.Read(ref _batches), Interlocked.Read(ref _pending));

    /// <summary>
    /// Queues <paramref name="input"/>; the task ends with its result. Throws <see cref="ApiException"/> 429 when the queue is
    /// full, 503 once the batcher is stopping.
    /// </summary>
    public Task<TOut> Enqueue(TIn input, CancellationToken cancel)
    {
        var item = new Item(input, new TaskCompletionSource<TOut>(TaskCreationOptions.RunContinuationsAsynchronously), cancel);
        lock (_gate)
        {
            Interlocked.Increment(ref _pending);
            AfterCounting?.Invoke();
            if (!_queue.Writer.TryWrite(item))
            {
                Interlocked.Decrement(ref _pending);
                throw _stopping
                    ? new ApiException(503, "the server is shutting down.")
                    : new ApiException(429, "the server is busy: too many requests are waiting; retry later.");
            }
        }
        return item.Result.Task;
    }

    /// <summary>Stops taking inputs and finishes the ones already queued.</summary>
    public async ValueTask DisposeAsync()
    {
        StopBeginning?.Invoke();
        lock (_gate)
        {
            _stopping = true;
            _queue.Writer.TryComplete();
        }
        await _worker.ConfigureAwait(false);
    }

    /// <summary>Answers an input whose request has given up as cancelled, instead of running it; true when it did.</summary>
    private bool DroppedIfCancelled(Item item)
    {
        if (!item.Cancel.IsCancellationRequested)
        {
            return false;
        }
        Interlocked.Decrement(ref _pending);
        item.Result.TrySetCanceled(item.Cancel);
        return true;
    }

    private async Task WorkAsync()
    {
        var reader = _queue.Reader;
        var batch = new List<Item>(_maxBatch);
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            var deadline = DateTime.UtcNow + _window;
            while (batch.Count < _maxBatch)
            {
                if (reader.TryRead(out var item))
                {
                    if (!DroppedIfCancelled(item))
                    {
                        batch.Add(item);
                    }
                    continue;
                }
                var left = deadline - DateTime.UtcNow;
                if (batch.Count == 0 || left <= TimeSpan.Zero)
                {
                    break;
                }
                var more = reader.WaitToReadAsync().AsTask();
                if (await Task.WhenAny(more, Task.Delay(left)).ConfigureAwait(false) != more || !await more.ConfigureAwait(false))
                {
                    break;
                }
            }
            // An input whose request gave up while its batch stayed open (the window, or waiting for a full batch) is dropped
            // here too: it ran, for nobody, after its client had left or been answered 503.
            batch.RemoveAll(DroppedIfCancelled);
            if (batch.Count == 0)
            {
                continue;
            }
            Interlocked.Increment(ref _batches);
            Interlocked.Add(ref _requests, batch.Count);
            try
            {
                var results = _run([.. batch.Select(b => b.Input)]);
                for (var i = 0; i < batch.Count; i++)
                {
                    batch[i].Result.TrySetResult(results[i]);
                }
            }
#pragma warning disable CA1031 // the error belongs to the requests of this batch; the worker must survive it
            catch (Exception e)
#pragma warning restore CA1031
            {
                foreach (var b in batch)
                {
                    b.Result.TrySetException(e);
                }
            }
            Interlocked.Add(ref _pending, -batch.Count);
        }
    }
}
