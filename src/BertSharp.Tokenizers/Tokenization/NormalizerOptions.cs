namespace BertSharp.Tokenization;

/// <summary>
/// HF <c>BertNormalizer</c> settings. <see cref="StripAccents"/> null means "same as <see cref="Lowercase"/>", as in HF.
/// </summary>
public sealed record NormalizerOptions(bool CleanText = true, bool HandleChineseChars = true, bool? StripAccents = null, bool Lowercase = true)
{
    /// <summary>Whether accents are stripped (NFD, then nonspacing marks dropped).</summary>
    public bool EffectiveStripAccents => StripAccents ?? Lowercase;
}
