using System.Text;

namespace BertSharp.Distributed;

/// <summary>
/// Who speaks in a data-parallel job: rank 0 writes every file (logs, checkpoints, the final model, atomically as in a
/// single-process run), prints results and draws progress bars; the other ranks only compute, and their errors reach
/// stderr prefixed with their rank so that a failure on any rank is visible and attributable.
/// </summary>
public static class RankOutput
{
    /// <summary>True on the one rank that writes files, logs and progress (rank 0).</summary>
    public static bool IsWriter(this ICommunicator communicator)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        return communicator.Rank == 0;
    }

    /// <summary>
    /// On ranks other than 0: discards stdout and prefixes every stderr line with "rank r: "; on rank 0 (and in a
    /// single-process run) changes nothing. Disposing the result restores the previous writers.
    /// </summary>
    public static IDisposable Apply(ICommunicator communicator)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        var oldOut = Console.Out;
        var oldErr = Console.Error;
        if (communicator.Rank != 0)
        {
            Console.SetOut(TextWriter.Null);
            Console.SetError(new PrefixWriter(oldErr, Label(communicator.Rank)));
        }
        return new Restore(oldOut, oldErr);
    }

    /// <summary>The label <see cref="Apply"/> puts before each stderr line of rank <paramref name="rank"/>.</summary>
    internal static string Label(int rank) => Invariant($"rank {rank}: ");

    private sealed class Restore(TextWriter output, TextWriter error) : IDisposable
    {
        public void Dispose()
        {
            Console.Out.Flush();
            Console.Error.Flush();
            Console.SetOut(output);
            Console.SetError(error);
        }
    }

    /// <summary>
    /// Writes a prefix at the start of every line, each line with one write to the inner writer: under mpirun the ranks'
    /// stderr and mpirun's own abort banner share one stream, and a line written character by character (the console
    /// flushes after every write) came out cut by the banner ("rank 1: e-----...").
    /// </summary>
    /// <param name="inner">The writer the prefixed lines go to.</param>
    /// <param name="prefixOf">The prefix of a line, given the line (or, at a flush, as much of it as was written).</param>
    internal sealed class PrefixWriter(TextWriter inner, Func<string, string> prefixOf) : TextWriter
    {
        /// <summary>Writes <paramref name="prefix"/> before every line.</summary>
        public PrefixWriter(TextWriter inner, string prefix)
            : this(inner, _ => prefix)
        {
        }

        private readonly StringBuilder _line = new();
        private bool _continues;

        public override Encoding Encoding => inner.Encoding;

        public override void Write(char value)
        {
            _line.Append(value);
            if (value == '\n')
            {
                WritePending();
                inner.Flush();
            }
        }

        public override void Write(string? value)
        {
            foreach (var c in value ?? "")
            {
                Write(c);
            }
        }

        /// <summary>Writes what is pending, a partial line included (it then continues without a second prefix).</summary>
        public override void Flush()
        {
            if (_line.Length > 0)
            {
                WritePending();
            }
            inner.Flush();
        }

        private void WritePending()
        {
            var text = _line.ToString();
            _line.Clear();
            inner.Write(_continues ? text : prefixOf(text) + text);
            _continues = !text.EndsWith('\n');
        }
    }
}
