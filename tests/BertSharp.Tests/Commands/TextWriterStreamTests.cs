using System.Text;
using BertSharp.Cli;

namespace BertSharp.Tests.Commands;

/// <summary><see cref="TextWriterStream"/>: UTF-8 bytes in any writes become the text they encode, and the end of the input lets nothing wait.</summary>
public sealed class TextWriterStreamTests
{
    [Fact]
    public void A_character_split_between_writes_is_whole_and_one_cut_by_the_end_is_written_when_the_input_completes()
    {
        var text = new StringWriter();
        using var stream = new TextWriterStream(text);
        // "é" is C3 A9, "€" E2 82 AC.
        stream.Write([(byte)'a', 0xC3]);
        Assert.Equal("a", text.ToString());
        stream.Write([0xA9, 0xE2, 0x82]);
        Assert.Equal("aé", text.ToString());
        // The stream ends inside "€": the decoder's replacement for the cut sequence, as for any invalid bytes.
        stream.Complete();
        Assert.Equal("aé\uFFFD", text.ToString());
        stream.Write(Encoding.UTF8.GetBytes("€"));
        Assert.Equal("aé\uFFFD€", text.ToString());
    }
}
