using BertSharp.Checkpoints;
using BertSharp.Runtime;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;
using static TorchSharp.torch;

namespace BertSharp.Tests.Hardening;

/// <summary>Issue 21 item 14: names from files never reach the terminal as escape sequences.</summary>
public class TerminalEscapeTests
{
    [Theory]
    [InlineData("plain.name", "plain.name")]
    [InlineData("a\u001b[31mred", "a\\x1b[31mred")]
    [InlineData("link\u001b]8;;http://x\u0007", "link\\x1b]8;;http://x\\x07")]
    [InlineData("tab\tnew\nline\r", "tab\\x09new\\x0aline\\x0d")]
    [InlineData("c1\u009b2J del\u007f", "c1\\x9b2J del\\x7f")]
    [InlineData("abc\u202edcba", "abc\\u202edcba")]
    [InlineData("naïve café 東京", "naïve café 東京")]
    public void Escape_makes_control_bidi_and_broken_characters_visible(string input, string expected) =>
        Assert.Equal(expected, SafeText.Escape(input));

    [Fact]
    public void Unpaired_surrogates_are_escaped_and_pairs_kept()
    {
        // Built at run time: theory data cannot carry a lone surrogate through serialisation.
        var text = "lone" + (char)0xD800 + " ok😀 " + (char)0xDC00;
        Assert.Equal("lone\\ud800 ok😀 \\udc00", SafeText.Escape(text));
    }

    [Fact]
    public void Inspect_shows_hostile_tensor_names_escaped()
    {
        TorchRuntime.EnsureLoaded();
        using var tmp = TestPaths.TempDir();
        File.Copy(Path.Combine(HfFixture.Dir("sequence-classification"), "config.json"), tmp.File("config.json"));
        var all = SafeTensors.Load(Path.Combine(HfFixture.Dir("sequence-classification"), "model.safetensors"));
        using var extra = zeros(2);
        var evil = "evil\u001b[2J\u001b]8;;http://x\u0007name";
        SafeTensors.Save(tmp.File("model.safetensors"), new Dictionary<string, Tensor>(all) { [evil] = extra });
        SafeTensors.DisposeAll(all);

        var r = CliRunner.Run("inspect", tmp.Path);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("evil\\x1b[2J\\x1b]8;;http://x\\x07name", r.StdOut);
        Assert.DoesNotContain('\u001b', r.StdOut);
        Assert.DoesNotContain('\u0007', r.StdOut);
    }

    [Fact]
    public void Error_messages_naming_a_hostile_tensor_are_escaped()
    {
        using var tmp = TestPaths.TempDir();
        File.Copy(Path.Combine(HfFixture.Dir("sequence-classification"), "config.json"), tmp.File("config.json"));
        var header = "{\"x\\u001b[31m\\u0007\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}"u8.ToArray();
        using (var f = File.Create(tmp.File("model.safetensors")))
        {
            f.Write(BitConverter.GetBytes((ulong)header.Length));
            f.Write(header);
            f.Write(new byte[4]);
        }
        var r = CliRunner.Run("inspect", tmp.Path);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("tensor 'x\\x1b[31m\\x07'", r.StdErr);
        Assert.DoesNotContain('\u001b', r.StdErr);
        Assert.DoesNotContain('\u0007', r.StdErr);
    }
}
