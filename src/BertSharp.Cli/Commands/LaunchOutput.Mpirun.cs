using System.Text;
using System.Text.RegularExpressions;

namespace BertSharp.Cli.Commands;

// mpirun's own lines on its stderr: its report blocks as one line each (or none), its bookkeeping dropped.
internal sealed partial class LaunchOutput
{
    // mpirun's unfinished line, and the lines of the report block it is inside of (null outside one).
    private readonly StringBuilder _mpirunLine = new();
    private List<string>? _block;

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
        if (line == MpirunTagReader.BlockRule)
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

    [GeneratedRegex(@"^mpirun noticed that process rank (\d+) with PID \d+ on node \S+ exited on signal (\d+) \(([^)]*)\)")]
    private static partial Regex SignalDeath();

    [GeneratedRegex(@"^mpirun detected that one or more processes exited with non-zero status.*Process name:\s+\[\[\d+,\d+\],(\d+)\]\s+Exit code:\s+(\d+)")]
    private static partial Regex NonZeroExit();

    [GeneratedRegex(@"^\[[^\]\s]+:\d+\] (\d+ more process(es)? (has|have) sent help message |Set MCA parameter ""orte_base_help_aggregate"" |\[\[\d+,\d+\],\d+\] ORTE_ERROR_LOG: .* in file \S*orte/util/show_help\.c at line \d+$)")]
    private static partial Regex HelpBookkeeping();

    [GeneratedRegex(@"^MPI_ABORT was invoked on rank (\d+) in communicator \S+ with errorcode (\d+)")]
    private static partial Regex Aborted();
}
