using BertSharp.DistributedHost;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Distributed;

/// <summary>The MPI host's stderr tee (the command's captured stderr and the rank's own stderr).</summary>
public sealed class TeeWriterTests
{
    private const string Face = "\U0001F600";

    [Fact]
    public void Both_sides_get_the_same_text_one_write_per_call()
    {
        var (first, second) = (new RecordingWriter(), new RecordingWriter());
        using var tee = new TeeWriter(first, second) { NewLine = "\n" };
        tee.Write("a");
        tee.Write('b');
        tee.Write(Face.AsSpan());
        tee.WriteLine("c" + Face + "d");
        tee.Write(("xy" + Face).ToCharArray());
        tee.Write(("0" + Face + "1").ToCharArray(), 1, 2);
        tee.WriteLine();
        tee.WriteLine("e".AsSpan());
        tee.WriteLine("{0}-{1}", "f", "g");

        // Written by hand: each call's text, a surrogate pair never split, a line and its newline together.
        string[] expected = ["a", "b", Face, "c" + Face + "d\n", "xy" + Face, Face, "\n", "e\n", "f-g\n"];
        Assert.Equal(expected, first.Writes);
        Assert.Equal(expected, second.Writes);
    }

    [Fact]
    public void A_large_write_stays_one_write_on_each_side()
    {
        var (first, second) = (new RecordingWriter(), new RecordingWriter());
        using var tee = new TeeWriter(first, second);
        var large = new string('x', 100_000) + Face;
        tee.Write(large.ToCharArray());
        tee.WriteLine(large);
        Assert.Equal([large, large + Environment.NewLine], first.Writes);
        Assert.Equal([large, large + Environment.NewLine], second.Writes);
    }
}
