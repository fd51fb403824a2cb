using System.Text;
using System.Text.RegularExpressions;
using BertSharp.Distributed;

namespace BertSharp.Cli.Commands;

/// <summary>
/// One of <c>mpirun --tag-output</c>'s streams as <c>bert launch</c> shows it, once <see cref="MpirunTagReader"/> has said
/// whose each character is: rank 0's text passes through as it arrives (progress bars included), a line that other ranks
/// write too is shown once, and a line only some of the other ranks write is shown once after <c>rank N: </c>, when it is
/// clearly not a copy of one of rank 0's (rank 0 has ended <see cref="HeldLinesLimit"/> lines since, or more lines than
/// that wait) or when the job ends. On mpirun's stderr the untagged text is mpirun's own: its boilerplate blocks become
/// one line each, or nothing where a rank's own message already says why the job failed, and its help-aggregation
/// bookkeeping is dropped. The ranks' "stopped by the launcher" lines are decided when the job ends: once any rank has
/// written an <c>error: </c> line, before or after them, they are dropped, since they only say that the job ended
/// because of it; from the first of them on, what is shown waits with them, in the order it came.
/// </summary>
internal sealed partial class LaunchOutput : TextWriter, MpirunTagReader.ISink
{
    // How a rank's own stop and watchdog messages start (CollectiveWatchdog): rank 0 holds such a line back until it ends,
    // since whether it is shown depends on the whole line.
    private const string RankMessage = "bertsharp: ";
    // How a rank's failure is said by the CLI (CliErrors).
    private const string ErrorLine = "error: ";

    /// <summary>
    /// How many of rank 0's most recent distinct lines are remembered to drop the other ranks' copies of them. The ranks run
    /// the same code and wait for each other in every collective, so another rank's copy comes within a few of rank 0's
    /// lines, not a thousand; a copy older than that is shown once more, which is harmless, while remembering every line
    /// would grow with the output of a run that lasts days.
    /// </summary>
    internal const int Rank0LinesRemembered = 1024;

    /// <summary>
    /// How long another rank's line that rank 0 has not written waits to be shown: until rank 0 has ended this many lines
    /// since, or until more lines than this wait (the oldest goes first). The ranks meet in every collective, so rank 0
    /// writes its copy of a line every rank writes within the lines it prints between two meetings. Its plan before
    /// training is the longest stretch: 7 lines on stderr for <c>bert launch --nproc 2 -- finetune</c> with validation data
    /// and a truncation warning, 1 for <c>pretrain</c>, then 1 a step or an evaluation (2026-12-06, Open MPI 4.1.4); a line
    /// still unmatched after 64, nine times that, is the other rank's own (a copy later still would be shown a second time). Waiting until
    /// the job ends instead kept every such line of a days-long run in memory and showed none of them until then.
    /// </summary>
    internal const int HeldLinesLimit = 64;

    private readonly TextWriter _target;
    private readonly bool _mpirunSpeaks;
    private readonly MpirunTagReader _reader;
    // Each rank's unfinished line as a terminal shows it: what follows its last carriage return.
    private readonly Dictionary<int, StringBuilder> _lines = [];
    private readonly RecentLines _rank0Said = new(Rank0LinesRemembered);
    // Lines of other ranks that rank 0 has not written (yet), in order of arrival, with the ranks that wrote them and how
    // many lines rank 0 had ended when the first arrived.
    private readonly List<(string Text, SortedSet<int> Ranks, long Since)> _held = [];
    private long _rank0LinesEnded;
    private readonly StringBuilder _live = new();
    // The ranks that said why they ended (an error line, or their own stop or watchdog message), and mpirun's "rank N
    // exited/aborted" lines held until the job ends: such a line is left out only when that rank said why, not when it
    // merely printed (rank 0's plan and progress are on stderr too) nor when another rank did (a rank stopped because of
    // the silent one says that the launcher's message names it).
    private readonly HashSet<int> _explained = [];
    private readonly List<(int Rank, string Line)> _unexplained = [];
    private bool _rankErred;
    // From the first stop line of any rank on, what is shown waits here, in order, until the job ends: the rank whose error
    // stopped the others may reach the stream after their lines, and only then is it known whether the stop lines say
    // anything. Stop is true for the stop lines, shown only if no rank erred. mpirun stops every rank at once (SIGTERM,
    // which ends a rank, then SIGKILL after odls_base_sigkill_timeout: 3 s under bert launch), so the wait is that short.
    private List<(string Text, bool Stop)>? _afterStop;
    // True while rank 0's current line may still be one of its own messages (it starts like RankMessage so far).
    private bool _rank0Defers = true;
    private bool _shownEndsLine = true;

    /// <summary>Folds a stream for <paramref name="target"/>.</summary>
    /// <param name="target">Where the folded text goes.</param>
    /// <param name="mpirunSpeaks">True for mpirun's stderr, whose untagged lines are mpirun's messages.</param>
    public LaunchOutput(TextWriter target, bool mpirunSpeaks)
    {
        _target = target;
        _mpirunSpeaks = mpirunSpeaks;
        _reader = new MpirunTagReader(this, mpirunSpeaks);
    }

    public override Encoding Encoding => _target.Encoding;

    public override void Write(char value) => Write([value]);

    public override void Write(string? value) => Write((value ?? "").AsSpan());

    public override void Write(char[] buffer, int index, int count) => Write(buffer.AsSpan(index, count));

    public override void Write(ReadOnlySpan<char> buffer)
    {
        _reader.Read(buffer);
        FlushLive();
    }

    /// <summary>
    /// Writes what is still held: a last line without its newline, the other ranks' lines, rank 0's stop lines and what
    /// followed them, and which rank failed without a message.
    /// </summary>
    public void Finish()
    {
        _reader.Finish();
        // Rank 0's last line first, ended as one with its newline is (a stop line held, the line counted as rank 0's), so the
        // other ranks' copies of it, ended next or held already, are dropped as copies of a whole line are.
        if (_lines.TryGetValue(0, out var rank0Line) && rank0Line.Length > 0)
        {
            EndRank0Line(rank0Line, newline: false);
            EndLine(0);
        }
        foreach (var rank in _lines.Keys.Where(r => r != 0 && _lines[r].Length > 0).ToList())
        {
            EndLine(rank);
        }
        foreach (var (text, who, _) in _held)
        {
            Show(text, who);
        }
        _held.Clear();
        if (_mpirunLine.Length > 0)
        {
            MpirunLine(_mpirunLine.ToString());
            _mpirunLine.Clear();
        }
        if (_block is not null)
        {
            Summarize(_block);
            _block = null;
        }
        // Decided only now: mpirun may report a rank's exit before it has passed on the rank's last lines.
        foreach (var (_, line) in _unexplained.Where(u => !_explained.Contains(u.Rank)))
        {
            Say(line);
        }
        _unexplained.Clear();
        FlushLive();
        if (_afterStop is not null)
        {
            foreach (var (text, stop) in _afterStop.Where(s => !(s.Stop && _rankErred)))
            {
                _target.Write(text);
            }
            _afterStop = null;
            _target.Flush();
        }
    }

    /// <summary>The length of rank <paramref name="rank"/>'s unfinished line as kept (for tests of its bound).</summary>
    internal int UnfinishedLength(int rank) => _lines.TryGetValue(rank, out var line) ? line.Length : 0;

    void MpirunTagReader.ISink.UntaggedChar(char c)
    {
        if (_mpirunSpeaks)
        {
            MpirunChar(c);
        }
        else
        {
            _live.Append(c);
        }
    }

    void MpirunTagReader.ISink.RankChar(int rank, char c)
    {
        if (!_lines.TryGetValue(rank, out var line))
        {
            _lines[rank] = line = new StringBuilder();
        }
        if (c == '\n')
        {
            if (rank == 0)
            {
                EndRank0Line(line, newline: true);
            }
            EndLine(rank);
            return;
        }
        if (line.Length > 0 && line[^1] == '\r')
        {
            if (c == '\r')
            {
                // Rank 0's bytes all pass through; the line kept is the same.
                if (rank == 0)
                {
                    Rank0Char(line, c);
                }
                return;
            }
            // A terminal shows only what follows the last carriage return: a progress bar redrawn for days is one
            // redraw here, not all of them. A carriage return just before the newline stays, as the line's own.
            line.Clear();
            // Rank 0's next text starts the line anew, so it may be one of its own messages (a stop line after a finished
            // download's "\r").
            if (rank == 0)
            {
                _rank0Defers = true;
            }
        }
        line.Append(c);
        if (rank == 0)
        {
            Rank0Char(line, c);
        }
    }

    /// <summary>
    /// Ends a rank's line that its last chunk left without a newline, where mpirun's own block starts: mpirun writes its
    /// blocks from a line start, so what follows is no longer the rank's.
    /// </summary>
    void MpirunTagReader.ISink.RankLineCut(int rank)
    {
        if (rank == 0)
        {
            EndRank0Line(_lines[0], newline: false);
        }
        EndLine(rank);
    }

    /// <summary>
    /// Shows what rank 0's ending line still held back, then its newline where <paramref name="newline"/> says it had one;
    /// a stop line waits for the end of the job, on a line of its own.
    /// </summary>
    private void EndRank0Line(StringBuilder line, bool newline)
    {
        var deferred = _rank0Defers;
        _rank0Defers = true;
        if (!deferred)
        {
            if (newline)
            {
                _live.Append('\n');
            }
            return;
        }
        var text = line.ToString();
        if (StoppedByLauncher().IsMatch(text))
        {
            HoldStop(text);
            return;
        }
        _live.Append(text);
        if (newline)
        {
            _live.Append('\n');
        }
    }

    /// <summary>Shows rank 0's character as it arrives, unless its line may still be one of its own messages.</summary>
    private void Rank0Char(StringBuilder line, char c)
    {
        if (!_rank0Defers)
        {
            _live.Append(c);
        }
        else if (c == '\r' || (line.Length <= RankMessage.Length && !RankMessage.StartsWith(line.ToString(), StringComparison.Ordinal)))
        {
            // A rank's own messages are written whole (CollectiveWatchdog), never redrawn.
            _rank0Defers = false;
            _live.Append(line);
        }
    }

    /// <summary>
    /// Holds a rank's "stopped by the launcher" line, and all that is shown after it, until the job ends: dropped if a rank
    /// erred (it only follows from that error), else shown, since it says where the rank was when one died or hung.
    /// </summary>
    private void HoldStop(string text)
    {
        StartLine();
        FlushLive();
        _afterStop ??= [];
        _afterStop.Add((text + "\n", Stop: true));
    }

    /// <summary>True when a line of one rank already says which rank wrote it (the rank's own stop or watchdog message).</summary>
    private static bool NamesItsRank(string text, SortedSet<int> who) =>
        who.Count == 1 && RankNamed().Match(text) is { Success: true } named &&
        named.Groups[1].Value == who.Min.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private void EndLine(int rank)
    {
        var line = _lines[rank];
        var text = line.ToString();
        line.Clear();
        // A rank other than 0 labels its own stderr lines once it has joined the job (RankOutput); the label is said once.
        var own = RankOutput.Label(rank);
        if (rank != 0 && text.StartsWith(own, StringComparison.Ordinal))
        {
            text = text[own.Length..];
        }
        var erred = text.StartsWith(ErrorLine, StringComparison.Ordinal);
        _rankErred |= erred;
        if (erred || text.StartsWith(RankMessage, StringComparison.Ordinal))
        {
            _explained.Add(rank);
        }
        if (rank == 0)
        {
            _rank0Said.Add(text);
            _held.RemoveAll(h => h.Text == text);
            _rank0LinesEnded++;
        }
        else if (StoppedByLauncher().IsMatch(text))
        {
            // It names its rank, so rank 0 never writes a copy.
            HoldStop(text);
        }
        else if (!_rank0Said.Contains(text))
        {
            var held = _held.FindIndex(h => h.Text == text);
            if (held < 0)
            {
                _held.Add((text, [rank], _rank0LinesEnded));
            }
            else
            {
                _held[held].Ranks.Add(rank);
            }
        }
        ShowSettled();
    }

    /// <summary>Shows the held lines that are clearly the other ranks' own (<see cref="HeldLinesLimit"/>), oldest first.</summary>
    private void ShowSettled()
    {
        while (_held.Count > 0 && (_held.Count > HeldLinesLimit || _rank0LinesEnded - _held[0].Since >= HeldLinesLimit))
        {
            var (text, who, _) = _held[0];
            _held.RemoveAt(0);
            Show(text, who);
        }
    }

    private void Show(string text, SortedSet<int> who) => Say((NamesItsRank(text, who) ? "" : Label(who)) + text);

    private static string Label(SortedSet<int> who) =>
        who.Count == 1 ? RankOutput.Label(who.Min) : $"ranks {string.Join(", ", who.Select(r => r.ToString(System.Globalization.CultureInfo.InvariantCulture)))}: ";

    /// <summary>A line of the launcher's own (a held line, a summary), on a line of its own after rank 0's unfinished one.</summary>
    private void Say(string line)
    {
        StartLine();
        _live.Append(line).Append('\n');
    }

    /// <summary>Ends rank 0's unfinished line where it is shown, so that what follows starts a line.</summary>
    private void StartLine()
    {
        if (_live.Length > 0 ? _live[^1] != '\n' : !_shownEndsLine)
        {
            _live.Append('\n');
        }
    }

    private void FlushLive()
    {
        if (_live.Length > 0)
        {
            if (_afterStop is not null)
            {
                _afterStop.Add((_live.ToString(), Stop: false));
            }
            else
            {
                _target.Write(_live.ToString());
            }
            _shownEndsLine = _live[^1] == '\n';
            _live.Clear();
        }
        _target.Flush();
    }

    [GeneratedRegex(@"^bertsharp: rank (\d+) of \d+ \(")]
    private static partial Regex RankNamed();

    // CollectiveWatchdog.StopMessage: "while computing, outside any collective" or "while waiting in <the collective>".
    [GeneratedRegex(@"^bertsharp: rank \d+ of \d+ \([^)]*\): stopped by the launcher \(SIGTERM\) while (computing, outside any collective|waiting in )")]
    private static partial Regex StoppedByLauncher();
}
