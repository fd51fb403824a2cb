using System.Text;
using System.Text.RegularExpressions;
using BertSharp.Distributed;

namespace BertSharp.Cli.Commands;

/// <summary>
/// One of <c>mpirun --tag-output</c>'s streams as <c>bert launch</c> shows it: the tags go, rank 0's text passes through as
/// it arrives (progress bars included), a line that other ranks write too is shown once, and a line only some of the other
/// ranks write is shown when the job ends, once, after <c>rank N: </c>. On stderr (<paramref name="mpirunSpeaks"/>) the
/// untagged text is mpirun's own: its boilerplate blocks become one line each, or nothing where a rank's own message
/// already says why the job failed, and its help-aggregation bookkeeping is dropped. Once a rank has written an
/// <c>error: </c> line, the other ranks' "stopped by the launcher ... outside any collective" lines are dropped too: they
/// only say that the job ended because of it.
/// </summary>
/// <param name="target">Where the folded text goes.</param>
/// <param name="mpirunSpeaks">True for mpirun's stderr, whose untagged lines are mpirun's messages.</param>
internal sealed partial class LaunchOutput(TextWriter target, bool mpirunSpeaks) : TextWriter
{
    // mpirun tags every chunk it reads from a rank (not every line): "[1,0]<stderr>:\rprog 1[1,0]<stderr>:\rprog 2".
    private const string BlockRule = "--------------------------------------------------------------------------";
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

    private readonly Dictionary<int, StringBuilder> _lines = [];
    private readonly RecentLines _rank0Said = new(Rank0LinesRemembered);
    // Lines of other ranks that rank 0 has not written (yet), in order of arrival, with the ranks that wrote them.
    private readonly List<(string Text, SortedSet<int> Ranks)> _held = [];
    private readonly StringBuilder _mpirunLine = new();
    private readonly StringBuilder _live = new();
    private List<string>? _block;
    private string _carry = "";
    // The ranks that said why they ended (an error line, or their own stop or watchdog message), and mpirun's "rank N
    // exited/aborted" lines held until the job ends: such a line is left out only when that rank said why, not when it
    // merely printed (rank 0's plan and progress are on stderr too) nor when another rank did (a rank stopped because of
    // the silent one says that the launcher's message names it).
    private readonly HashSet<int> _explained = [];
    private readonly List<(int Rank, string Line)> _unexplained = [];
    private bool _rankErred;
    // True while rank 0's current line may still be one of its own messages (it starts like RankMessage so far).
    private bool _rank0Defers = true;
    private bool _shownEndsLine = true;
    // The rank whose chunk the text belongs to; null between lines (mpirun's own text).
    private int? _owner;

    public override Encoding Encoding => target.Encoding;

    public override void Write(char value) => Write([value]);

    public override void Write(string? value) => Write((value ?? "").AsSpan());

    public override void Write(char[] buffer, int index, int count) => Write(buffer.AsSpan(index, count));

    public override void Write(ReadOnlySpan<char> buffer)
    {
        var text = _carry + buffer.ToString();
        _carry = "";
        var i = 0;
        while (i < text.Length)
        {
            if (text[i] == '[' && (_owner is not null || _mpirunLine.Length == 0))
            {
                var (length, rank) = Tag(text, i);
                if (length < 0)
                {
                    // A tag cut by the read: wait for the rest.
                    _carry = text[i..];
                    break;
                }
                if (length > 0)
                {
                    _owner = rank;
                    i += length;
                    continue;
                }
            }
            if (text[i] == BlockRule[0] && mpirunSpeaks && _owner is { } owner && _lines.TryGetValue(owner, out var pending) && pending.Length > 0)
            {
                var rule = RuleAt(text, i);
                if (rule < 0)
                {
                    // Maybe mpirun's rule cut by the read: wait for the rest.
                    _carry = text[i..];
                    break;
                }
                if (rule > 0)
                {
                    EndPartialLine(owner);
                    continue;
                }
            }
            Dispatch(text[i++]);
        }
        FlushLive();
    }

    /// <summary>Writes what is still held: a last line without its newline, the other ranks' lines, and which rank failed without a message.</summary>
    public void Finish()
    {
        if (_carry.Length > 0)
        {
            foreach (var c in _carry)
            {
                Dispatch(c);
            }
            _carry = "";
        }
        foreach (var rank in _lines.Keys.Where(r => r != 0 && _lines[r].Length > 0).ToList())
        {
            EndLine(rank);
        }
        if (_rank0Defers && _lines.TryGetValue(0, out var rank0Line))
        {
            _live.Append(rank0Line);
        }
        foreach (var (text, who) in _held.Where(h => !Consequence(h.Text)))
        {
            Say((NamesItsRank(text, who) ? "" : Label(who)) + text);
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
    }

    private void Dispatch(char c)
    {
        if (_owner is { } owner)
        {
            RankChar(owner, c);
        }
        else if (mpirunSpeaks)
        {
            MpirunChar(c);
        }
        else
        {
            _live.Append(c);
        }
    }

    private void RankChar(int rank, char c)
    {
        if (!_lines.TryGetValue(rank, out var line))
        {
            _lines[rank] = line = new StringBuilder();
        }
        if (c != '\n')
        {
            line.Append(c);
            if (rank == 0)
            {
                Rank0Char(line, c);
            }
            return;
        }
        if (rank == 0)
        {
            EndRank0Line(line, newline: true);
        }
        EndLine(rank);
        // mpirun tags what follows a newline anew; untagged text there is its own.
        _owner = null;
    }

    /// <summary>
    /// Ends a rank's line that its last chunk left without a newline, where mpirun's own block starts: mpirun writes its
    /// blocks from a line start, so what follows is no longer the rank's.
    /// </summary>
    private void EndPartialLine(int rank)
    {
        if (rank == 0)
        {
            EndRank0Line(_lines[0], newline: false);
        }
        EndLine(rank);
        _owner = null;
    }

    /// <summary>Shows what rank 0's ending line still held back, then its newline where <paramref name="newline"/> says it had one.</summary>
    private void EndRank0Line(StringBuilder line, bool newline)
    {
        if (!_rank0Defers)
        {
            if (newline)
            {
                _live.Append('\n');
            }
        }
        else if (!Consequence(line.ToString()))
        {
            _live.Append(line);
            if (newline)
            {
                _live.Append('\n');
            }
        }
        _rank0Defers = true;
    }

    /// <summary>
    /// 1 when mpirun's rule line (with its newline) starts at <paramref name="at"/>, 0 when none does, -1 when the text ends
    /// inside what may still become one.
    /// </summary>
    private static int RuleAt(string text, int at)
    {
        var rest = text.Length - at;
        var whole = BlockRule.Length + 1;
        var compared = Math.Min(rest, BlockRule.Length);
        if (string.CompareOrdinal(text, at, BlockRule, 0, compared) != 0)
        {
            return 0;
        }
        if (rest < whole)
        {
            return -1;
        }
        return text[at + BlockRule.Length] == '\n' ? 1 : 0;
    }

    /// <summary>Shows rank 0's character as it arrives, unless its line may still be one of its own messages.</summary>
    private void Rank0Char(StringBuilder line, char c)
    {
        if (!_rank0Defers)
        {
            _live.Append(c);
        }
        else if (line.Length <= RankMessage.Length && !RankMessage.StartsWith(line.ToString(), StringComparison.Ordinal))
        {
            _rank0Defers = false;
            _live.Append(line);
        }
    }

    /// <summary>
    /// True for a rank's "stopped by the launcher" line that only follows from another rank's error; such a line where no
    /// rank wrote an error stays, since it says where each rank was when one died or hung.
    /// </summary>
    private bool Consequence(string text) => _rankErred && StoppedOutsideCollectives().IsMatch(text);

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
            return;
        }
        if (_rank0Said.Contains(text))
        {
            return;
        }
        var held = _held.FindIndex(h => h.Text == text);
        if (held < 0)
        {
            _held.Add((text, [rank]));
        }
        else
        {
            _held[held].Ranks.Add(rank);
        }
    }

    private static string Label(SortedSet<int> who) =>
        who.Count == 1 ? RankOutput.Label(who.Min) : $"ranks {string.Join(", ", who.Select(r => r.ToString(System.Globalization.CultureInfo.InvariantCulture)))}: ";

    private void MpirunChar(char c)
    {
        if (c != '\n')
        {
            _mpirunLine.Append(c);
            return;
        }
        var line = _mpirunLine.ToString().TrimEnd('\r');
        _mpirunLine.Clear();
        MpirunLine(line);
    }

    private void MpirunLine(string line)
    {
        if (HelpBookkeeping().IsMatch(line))
        {
            // Open MPI's help aggregation talking about itself, and its known race (4.1) when several ranks abort at once:
            // the job's own failure is said by the ranks and the blocks.
            return;
        }
        if (line == BlockRule)
        {
            if (_block is null)
            {
                _block = [];
            }
            else
            {
                Summarize(_block);
                _block = null;
            }
            return;
        }
        if (_block is not null)
        {
            _block.Add(line);
        }
        else if (line.Trim().Length > 0)
        {
            Say("bert launch: mpirun: " + line.Trim());
        }
    }

    /// <summary>One of mpirun's boilerplate blocks as one line, or nothing where a rank's own message explains it.</summary>
    private void Summarize(List<string> block)
    {
        var text = string.Join(' ', block.Select(l => l.Trim()).Where(l => l.Length > 0));
        if (text.StartsWith("Primary job ", StringComparison.Ordinal))
        {
            // Always followed by the block naming the first rank that failed.
            return;
        }
        if (SignalDeath().Match(text) is { Success: true } killed)
        {
            var signal = killed.Groups[2].Value;
            Say($"bert launch: rank {killed.Groups[1].Value} was killed by signal {signal} ({SignalName(signal, killed.Groups[3].Value)})");
            return;
        }
        if (NonZeroExit().Match(text) is { Success: true } failed)
        {
            Unexplained(failed.Groups[1].Value, $"exited with code {failed.Groups[2].Value}");
            return;
        }
        if (Aborted().Match(text) is { Success: true } aborted)
        {
            Unexplained(aborted.Groups[1].Value, $"aborted the job (MPI_Abort, error code {aborted.Groups[2].Value})");
            return;
        }
        Say("bert launch: mpirun: " + FirstParagraphs(block));
    }

    private void Unexplained(string rank, string what) =>
        _unexplained.Add((
            int.TryParse(rank, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var r) ? r : -1,
            $"bert launch: rank {rank} {what} without a message"));

    /// <summary>A block's opening paragraph on one line, with the next one while a paragraph ends in a colon (its details).</summary>
    private static string FirstParagraphs(List<string> block)
    {
        var words = new List<string>();
        var i = 0;
        while (i < block.Count && block[i].Trim().Length == 0)
        {
            i++;
        }
        for (; i < block.Count; i++)
        {
            var line = block[i].Trim();
            if (line.Length == 0)
            {
                if (!words[^1].EndsWith(':'))
                {
                    break;
                }
                continue;
            }
            words.Add(line);
        }
        return string.Join(' ', words);
    }

    // mpirun gives strsignal's words ("Killed"); the SIG name is what kill(1) and the docs use.
    private static string SignalName(string signal, string mpirunsWord) => signal switch
    {
        "1" => "SIGHUP",
        "2" => "SIGINT",
        "3" => "SIGQUIT",
        "4" => "SIGILL",
        "6" => "SIGABRT",
        "7" => "SIGBUS",
        "8" => "SIGFPE",
        "9" => "SIGKILL",
        "11" => "SIGSEGV",
        "13" => "SIGPIPE",
        "15" => "SIGTERM",
        _ => mpirunsWord,
    };

    /// <summary>
    /// The length of the tag <c>[JOB,RANK]&lt;STREAM&gt;:</c> at <paramref name="at"/> and its rank; 0 when there is none,
    /// -1 when the text ends inside what may still become one.
    /// </summary>
    private static (int Length, int Rank) Tag(string text, int at)
    {
        var i = at + 1;
        var rank = 0;
        foreach (var part in new[] { ',', ']' })
        {
            var start = i;
            while (i < text.Length && char.IsAsciiDigit(text[i]))
            {
                if (part == ']')
                {
                    rank = (rank * 10) + (text[i] - '0');
                }
                i++;
            }
            if (i == text.Length)
            {
                return (-1, 0);
            }
            if (i == start || text[i] != part)
            {
                return (0, 0);
            }
            i++;
        }
        if (i == text.Length)
        {
            return (-1, 0);
        }
        if (text[i++] != '<')
        {
            return (0, 0);
        }
        var name = i;
        while (i < text.Length && char.IsAsciiLetterLower(text[i]))
        {
            i++;
        }
        if (i + 1 >= text.Length)
        {
            return (-1, 0);
        }
        return i > name && text[i] == '>' && text[i + 1] == ':' ? (i + 2 - at, rank) : (0, 0);
    }

    /// <summary>A line of the launcher's own (a held line, a summary), on a line of its own after rank 0's unfinished one.</summary>
    private void Say(string line)
    {
        if (_live.Length > 0 ? _live[^1] != '\n' : !_shownEndsLine)
        {
            _live.Append('\n');
        }
        _live.Append(line).Append('\n');
    }

    private void FlushLive()
    {
        if (_live.Length > 0)
        {
            target.Write(_live.ToString());
            _shownEndsLine = _live[^1] == '\n';
            _live.Clear();
        }
        target.Flush();
    }

    [GeneratedRegex(@"^mpirun noticed that process rank (\d+) with PID \d+ on node \S+ exited on signal (\d+) \(([^)]*)\)")]
    private static partial Regex SignalDeath();

    [GeneratedRegex(@"^mpirun detected that one or more processes exited with non-zero status.*Process name:\s+\[\[\d+,\d+\],(\d+)\]\s+Exit code:\s+(\d+)")]
    private static partial Regex NonZeroExit();

    [GeneratedRegex(@"^\[[^\]\s]+:\d+\] (\d+ more process(es)? (has|have) sent help message |Set MCA parameter ""orte_base_help_aggregate"" |\[\[\d+,\d+\],\d+\] ORTE_ERROR_LOG: .* in file \S*orte/util/show_help\.c at line \d+$)")]
    private static partial Regex HelpBookkeeping();

    [GeneratedRegex(@"^bertsharp: rank (\d+) of \d+ \(")]
    private static partial Regex RankNamed();

    [GeneratedRegex(@"^bertsharp: rank \d+ of \d+ \([^)]*\): stopped by the launcher \(SIGTERM\) while computing, outside any collective:")]
    private static partial Regex StoppedOutsideCollectives();

    [GeneratedRegex(@"^MPI_ABORT was invoked on rank (\d+) in communicator \S+ with errorcode (\d+)")]
    private static partial Regex Aborted();
}
