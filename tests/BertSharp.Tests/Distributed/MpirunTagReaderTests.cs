using System.Text;
using BertSharp.Cli.Commands;

namespace BertSharp.Tests.Distributed;

/// <summary>
/// <see cref="MpirunTagReader"/> alone: whose each character of <c>mpirun --tag-output</c>'s stream is, whatever the reads
/// it arrives in (a pipe read may end anywhere, inside a tag or a rule line). Expected attributions are written by hand.
/// </summary>
public sealed class MpirunTagReaderTests
{
    private const string Rule = MpirunTagReader.BlockRule;

    /// <summary>
    /// Records the text with <c>{RANK}</c> where the owner changes (<c>{-}</c>: untagged text), and <c>|N</c> where mpirun's
    /// block cut rank N's line.
    /// </summary>
    private sealed class Recorder : MpirunTagReader.ISink
    {
        private readonly StringBuilder _text = new();
        private string? _owner;

        public override string ToString() => _text.ToString();

        public void RankChar(int rank, char c) => Add(rank.ToString(System.Globalization.CultureInfo.InvariantCulture), c);

        public void RankLineCut(int rank)
        {
            _text.Append(System.Globalization.CultureInfo.InvariantCulture, $"|{rank}");
            _owner = null;
        }

        public void UntaggedChar(char c) => Add("-", c);

        private void Add(string owner, char c)
        {
            if (owner != _owner)
            {
                _text.Append('{').Append(owner).Append('}');
                _owner = owner;
            }
            _text.Append(c);
        }
    }

    private static string Attribute(bool mpirunSpeaks, params string[] reads)
    {
        var sink = new Recorder();
        var reader = new MpirunTagReader(sink, mpirunSpeaks);
        foreach (var read in reads)
        {
            reader.Read(read);
        }
        reader.Finish();
        return sink.ToString();
    }

    [Fact]
    public void A_stream_split_anywhere_between_reads_is_attributed_as_in_one_read()
    {
        // Rank 0's progress redrawn in chunks, rank 12's line, a rank's text holding brackets, mpirun's block cutting rank 0's
        // unfinished line, and a last chunk that ends inside what looks like a tag.
        var stream = "[1,0]<stderr>:\rstep 1[1,0]<stderr>:\rstep 2[1,12]<stderr>:rank 12: x [1,2]\n[1,0]<stderr>:total\n"
            + "[1,0]<stderr>:cut" + Rule + "\nmpirun noticed that process rank 1 exited\n" + Rule + "\n[1,0]<stderr>:end [1,0]<std";
        var expected = "{0}\rstep 1\rstep 2{12}rank 12: x [1,2]\n{0}total\ncut|0{-}" + Rule + "\nmpirun noticed that process rank 1 exited\n" + Rule
            + "\n{0}end [1,0]<std";
        Assert.Equal(expected, Attribute(true, stream));
        for (var cut = 1; cut < stream.Length; cut++)
        {
            Assert.Equal(expected, Attribute(true, stream[..cut], stream[cut..]));
        }
        Assert.Equal(expected, Attribute(true, [.. stream.Select(c => c.ToString())]));
    }
}
