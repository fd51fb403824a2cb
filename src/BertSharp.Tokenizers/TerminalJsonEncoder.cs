using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;

namespace BertSharp;

/// <summary>
/// The JSON escaping of output people read on a terminal: <see cref="JavaScriptEncoder.UnsafeRelaxedJsonEscaping"/>, which
/// keeps accented letters, CJK and HTML characters readable, with the bidirectional controls of
/// <see cref="SafeText.BidiControls"/> written as <c>\uXXXX</c> too. The relaxed encoder passes those through raw, so a
/// text holding U+202E printed the rest of its JSON line reversed. Parsed back, every string is exactly the original.
/// </summary>
internal sealed class TerminalJsonEncoder : JavaScriptEncoder
{
    /// <summary>The one instance: the encoder keeps no state.</summary>
    public static readonly JavaScriptEncoder Instance = new TerminalJsonEncoder();

    private static readonly JavaScriptEncoder Relaxed = UnsafeRelaxedJsonEscaping;

    private TerminalJsonEncoder()
    {
    }

    /// <inheritdoc/>
    public override int MaxOutputCharactersPerInputCharacter => Relaxed.MaxOutputCharactersPerInputCharacter;

    /// <inheritdoc/>
    public override bool WillEncode(int unicodeScalar) => SafeText.IsBidiControl(unicodeScalar) || Relaxed.WillEncode(unicodeScalar);

    /// <inheritdoc/>
    public override unsafe int FindFirstCharacterToEncode(char* text, int textLength)
    {
        var relaxed = Relaxed.FindFirstCharacterToEncode(text, textLength);
        var before = new ReadOnlySpan<char>(text, relaxed < 0 ? textLength : relaxed);
        var bidi = before.IndexOfAny(SafeText.BidiControls);
        return bidi >= 0 ? bidi : relaxed;
    }

    /// <inheritdoc/>
    public override int FindFirstCharacterToEncodeUtf8(ReadOnlySpan<byte> utf8Text)
    {
        var relaxed = Relaxed.FindFirstCharacterToEncodeUtf8(utf8Text);
        var before = relaxed < 0 ? utf8Text : utf8Text[..relaxed];
        // Every bidi control is U+061C (lead byte D8) or in U+2000–U+2FFF (lead byte E2); in the well-formed UTF-8 the
        // relaxed encoder let through, those bytes only start a character, so the decoding starts at the first of them.
        var start = before.IndexOfAny((byte)0xD8, (byte)0xE2);
        for (var i = start < 0 ? before.Length : start; i < before.Length;)
        {
            Rune.DecodeFromUtf8(before[i..], out var rune, out var length);
            if (SafeText.IsBidiControl(rune.Value))
            {
                return i;
            }
            i += length;
        }
        return relaxed;
    }

    /// <inheritdoc/>
    public override unsafe bool TryEncodeUnicodeScalar(int unicodeScalar, char* buffer, int bufferLength, out int numberOfCharactersWritten)
    {
        if (!SafeText.IsBidiControl(unicodeScalar))
        {
            return Relaxed.TryEncodeUnicodeScalar(unicodeScalar, buffer, bufferLength, out numberOfCharactersWritten);
        }
        var escape = new Span<char>(buffer, bufferLength);
        // Upper-case hex digits, as the relaxed encoder writes U+2028.
        if (escape.Length < 6 || !unicodeScalar.TryFormat(escape[2..6], out _, "X4", CultureInfo.InvariantCulture))
        {
            numberOfCharactersWritten = 0;
            return false;
        }
        escape[0] = '\\';
        escape[1] = 'u';
        numberOfCharactersWritten = 6;
        return true;
    }
}
