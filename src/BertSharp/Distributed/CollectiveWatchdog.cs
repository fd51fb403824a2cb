using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace BertSharp.Distributed;

/// <summary>
/// Bounds every collective in time. MPI and NCCL block until all ranks arrive, so a rank that is stuck (deadlocked, paused,
/// on a dead host) would hang the others forever; the watchdog thread notices when one collective has waited longer than
/// the timeout, prints which rank gave up in which collective, and aborts the whole job through the backend (MPI_Abort),
/// which makes the launcher stop every rank. It also says where a rank was (in which collective, or computing between
/// them) when the launcher stops it with SIGTERM because another rank died.
/// </summary>
internal sealed class CollectiveWatchdog : IDisposable
{
    private readonly object _gate = new();
    private readonly TimeSpan _timeout;
    private readonly string _who;
    private readonly Action<int> _abort;
    private readonly Thread? _thread;
    private readonly PosixSignalRegistration? _sigterm;
    private string? _current;
    private long _deadline;
    private bool _disposed;

    /// <param name="timeout">Longest wait of one collective; <see cref="Timeout.InfiniteTimeSpan"/> disables the watchdog.</param>
    /// <param name="who">Names this process in messages, e.g. "rank 1 of 2 (mpi)".</param>
    /// <param name="abort">Aborts the whole job with the given exit code; called on the watchdog thread.</param>
    public CollectiveWatchdog(TimeSpan timeout, string who, Action<int> abort)
    {
        _timeout = timeout;
        _who = who;
        _abort = abort;
        if (timeout != System.Threading.Timeout.InfiniteTimeSpan)
        {
            _thread = new Thread(Watch) { IsBackground = true, Name = "bertsharp collective watchdog" };
            _thread.Start();
        }
        _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSigterm);
    }

    /// <summary>True once the launcher has asked this process to stop (SIGTERM): MPI must not be finalised then, since a
    /// finalise waits for ranks that may be gone.</summary>
    public bool Terminating { get; private set; }

    /// <summary>Exit code of a job aborted by a collective timeout.</summary>
    public const int TimeoutExitCode = 3;

    /// <summary>Marks the start of a blocking collective; dispose the result when it has returned.</summary>
    public Scope Enter(string what) => Enter(what, _timeout);

    /// <summary>
    /// Marks the start of a blocking collective with its own bound (<see cref="System.Threading.Timeout.InfiniteTimeSpan"/>:
    /// none; SIGTERM still names it); dispose the result when it has returned.
    /// </summary>
    public Scope Enter(string what, TimeSpan timeout)
    {
        lock (_gate)
        {
            _current = what;
            _deadline = _thread is null || timeout == System.Threading.Timeout.InfiniteTimeSpan
                ? long.MaxValue
                : Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
            Monitor.PulseAll(_gate);
        }
        return new Scope(this);
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            Monitor.PulseAll(_gate);
        }
        _sigterm?.Dispose();
        _thread?.Join();
    }

    /// <summary>Writes one line straight to the process's stderr, bypassing any redirection of <see cref="Console.Error"/>.</summary>
    internal static void WriteStderr(string line)
    {
        try
        {
            using var stderr = Console.OpenStandardError();
            var bytes = Encoding.UTF8.GetBytes(line + "\n");
            stderr.Write(bytes);
            stderr.Flush();
        }
        catch (IOException)
        {
        }
    }

    private void Leave()
    {
        lock (_gate)
        {
            _current = null;
        }
    }

    private void Watch()
    {
        string? expired = null;
        lock (_gate)
        {
            while (!_disposed && expired is null)
            {
                if (_current is null)
                {
                    Monitor.Wait(_gate);
                    continue;
                }
                var remaining = _deadline - Stopwatch.GetTimestamp();
                if (remaining <= 0)
                {
                    expired = _current;
                    break;
                }
                Monitor.Wait(_gate, TimeSpan.FromSeconds(Math.Min(1.0, (double)remaining / Stopwatch.Frequency)));
            }
        }
        if (expired is not null)
        {
            WriteStderr(Invariant($"bertsharp: {_who}: {expired} did not complete within {_timeout.TotalSeconds:0.#} s; another rank is stuck ") +
                        "or gone. Aborting every rank; files already written (checkpoints, logs) are complete and intact.");
            _abort(TimeoutExitCode);
        }
    }

    private void OnSigterm(PosixSignalContext context)
    {
        Terminating = true;
        WriteStderr(StopMessage());
    }

    /// <summary>
    /// What this process says when the launcher stops it: the collective it waits in, or that it was computing between
    /// collectives (a step, an evaluation, a checkpoint on rank 0). The SIGTERM comes whenever another rank dies, or when the
    /// job is stopped (bert launch passes its own SIGTERM on to mpirun), and a job that ended without a word from the
    /// surviving ranks read as one that had simply stopped.
    /// </summary>
    internal string StopMessage()
    {
        string? current;
        lock (_gate)
        {
            current = _current;
        }
        var where = current is null ? "while computing, outside any collective" : $"while waiting in {current}";
        return $"bertsharp: {_who}: stopped by the launcher (SIGTERM) {where}: another rank exited or was killed (the launcher's " +
               "message names it), or the job was stopped. Files already written are complete and intact.";
    }

    /// <summary>Ends the watched collective when disposed.</summary>
    public readonly struct Scope(CollectiveWatchdog owner) : IDisposable
    {
        public void Dispose() => owner.Leave();
    }
}
