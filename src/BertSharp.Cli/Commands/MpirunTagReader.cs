namespace BertSharp.Cli.Commands;

/// <summary>
/// Reads one of <c>mpirun --tag-output</c>'s streams, read by read, and says whose each character is. mpirun puts
/// <c>[JOB,RANK]&lt;STREAM&gt;:</c> before every chunk it reads from a rank, not before every line
/// (<c>[1,0]&lt;stderr&gt;:\rprog 1[1,0]&lt;stderr&gt;:\rprog 2</c>); text after a rank's newline that no tag claims is
/// mpirun's own, and so is a block of mpirun's that starts with its rule line after a rank's chunk that lacked its newline
/// (told from a rank's own line ending in as many dashes by what follows the rule). A tag, or a rule line and the start of
/// what follows it, cut between two reads is carried to the next read.
/// </summary>
/// <param name="sink">Where the attributed text goes.</param>
/// <param name="mpirunSpeaks">True for mpirun's stderr, whose untagged text is mpirun's messages (a <c>[</c> inside one of
/// its lines is text, and its blocks may cut a rank's line).</param>
internal sealed class MpirunTagReader(MpirunTagReader.ISink sink, bool mpirunSpeaks)
{
    /// <summary>The line that opens and closes each of mpirun's report blocks.</summary>
    internal const string BlockRule = "--------------------------------------------------------------------------";

    /// <summary>What the reader tells about the text it has attributed, in the order of the stream.</summary>
    internal interface ISink
    {
        /// <summary>One character of rank <paramref name="rank"/>'s output, its newlines included.</summary>
        void RankChar(int rank, char c);

        /// <summary>Rank <paramref name="rank"/>'s line ends without its newline: one of mpirun's blocks starts there.</summary>
        void RankLineCut(int rank);

        /// <summary>One character that no tag claims: mpirun's own on stderr, nothing a rank wrote on stdout.</summary>
        void UntaggedChar(char c);
    }

    // The ranks whose last chunk left a line unfinished: only after one of them can mpirun's rule line cut a line.
    private readonly HashSet<int> _midLine = [];
    private string _carry = "";
    // The rank whose chunk the text belongs to; null between lines (mpirun's own text).
    private int? _owner;
    // True while one of mpirun's own lines is unfinished: a tag starts only at a line start.
    private bool _untaggedMidLine;

    /// <summary>Attributes <paramref name="buffer"/>, keeping back a tag or rule line it ends inside of.</summary>
    public void Read(ReadOnlySpan<char> buffer)
    {
        var text = _carry + buffer.ToString();
        _carry = "";
        var i = 0;
        while (i < text.Length)
        {
            if (text[i] == '[' && (_owner is not null || !_untaggedMidLine))
            {
                var (length, rank) = Tag(text, i);
                if (length < 0)
                {
                    _carry = text[i..];
                    return;
                }
                if (length > 0)
                {
                    _owner = rank;
                    i += length;
                    continue;
                }
            }
            if (text[i] == BlockRule[0] && mpirunSpeaks && _owner is { } owner && _midLine.Contains(owner))
            {
                var block = BlockAt(text, i);
                if (block < 0)
                {
                    _carry = text[i..];
                    return;
                }
                if (block > 0)
                {
                    _midLine.Remove(owner);
                    _owner = null;
                    sink.RankLineCut(owner);
                    continue;
                }
            }
            Dispatch(text[i++]);
        }
    }

    /// <summary>Attributes what was kept back: the stream ended inside what only looked like a tag or a rule line.</summary>
    public void Finish()
    {
        foreach (var c in _carry)
        {
            Dispatch(c);
        }
        _carry = "";
    }

    private void Dispatch(char c)
    {
        if (_owner is not { } owner)
        {
            _untaggedMidLine = mpirunSpeaks && c != '\n';
            sink.UntaggedChar(c);
            return;
        }
        if (c == '\n')
        {
            _midLine.Remove(owner);
            // mpirun tags what follows a newline anew; untagged text there is its own.
            _owner = null;
        }
        else
        {
            _midLine.Add(owner);
        }
        sink.RankChar(owner, c);
    }

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

    /// <summary>
    /// 1 when one of mpirun's blocks starts at <paramref name="at"/>, 0 when none does, -1 when the text ends before that is
    /// known. mpirun writes a block whole, in one write: its rule line, then its message. A rule line that a tag, a second
    /// rule line or the end of the stream follows is a rank's own line of dashes.
    /// </summary>
    private static int BlockAt(string text, int at)
    {
        var rule = RuleAt(text, at);
        if (rule <= 0)
        {
            return rule;
        }
        var next = at + BlockRule.Length + 1;
        if (next == text.Length)
        {
            return -1;
        }
        var tag = text[next] == '[' ? Tag(text, next).Length : 0;
        var again = RuleAt(text, next);
        if (tag < 0 || again < 0)
        {
            return -1;
        }
        return tag == 0 && again == 0 ? 1 : 0;
    }

    /// <summary>
    /// 1 when mpirun's rule line (with its newline) starts at <paramref name="at"/>, 0 when none does, -1 when the text ends
    /// inside what may still become one.
    /// </summary>
    private static int RuleAt(string text, int at)
    {
        var rest = text.Length - at;
        var compared = Math.Min(rest, BlockRule.Length);
        if (string.CompareOrdinal(text, at, BlockRule, 0, compared) != 0)
        {
            return 0;
        }
        if (rest < BlockRule.Length + 1)
        {
            return -1;
        }
        return text[at + BlockRule.Length] == '\n' ? 1 : 0;
    }
}
