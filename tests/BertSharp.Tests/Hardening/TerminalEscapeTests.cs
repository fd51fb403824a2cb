using System.Buffers;
using System.Text;
using System.Text.Json;
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

    // The JSON the CLI prints and the server answers: UnsafeRelaxedJsonEscaping passed the bidirectional controls through
    // raw (a U+202E reversed the rest of the line on a terminal); everything else is written as that encoder writes it,
    // supplementary characters as surrogate escapes included.
    [Theory]
    [InlineData("abc\u202edcba", "abc\\u202Edcba")]
    [InlineData("é漢😀 <a href='x'>&+`", "é漢\\uD83D\\uDE00 <a href='x'>&+`")]
    [InlineData("\"\u2066x\u2069\" \u200e\u200f\u061c\n", "\\\"\\u2066x\\u2069\\\" \\u200E\\u200F\\u061C\\n")]
    [InlineData("a text long enough for the vectorised scans \u202a\u202b\u202c\u202d and \u2067\u2068 at its end",
        "a text long enough for the vectorised scans \\u202A\\u202B\\u202C\\u202D and \\u2067\\u2068 at its end")]
    public void Terminal_json_escapes_bidi_controls_and_round_trips(string text, string escaped)
    {
        var options = new JsonSerializerOptions { Encoder = TerminalJsonEncoder.Instance };
        // UTF-16 text (JsonSerializer, JsonNode) and UTF-8 text (Utf8JsonWriter given bytes) are scanned separately.
        var fromString = JsonSerializer.Serialize(text, options);
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = TerminalJsonEncoder.Instance }))
        {
            w.WriteStartObject();
            w.WriteString(Encoding.UTF8.GetBytes(text), Encoding.UTF8.GetBytes(text));
            w.WriteEndObject();
        }
        Assert.Equal($"\"{escaped}\"", fromString);
        Assert.Equal($"{{\"{escaped}\":\"{escaped}\"}}", Encoding.UTF8.GetString(buffer.WrittenSpan));
        Assert.Equal(text, JsonSerializer.Deserialize<string>(fromString));
        Assert.Equal(text, Assert.Single(JsonSerializer.Deserialize<Dictionary<string, string>>(buffer.WrittenSpan)!).Key);
    }

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
