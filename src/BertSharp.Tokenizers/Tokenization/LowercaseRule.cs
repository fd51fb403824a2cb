using System.Globalization;

namespace BertSharp.Tokenization;

/// <summary>Whether a tokenizer lower-cases its input, and where that was decided.</summary>
/// <param name="Lowercase">Lower-case (and strip accents).</param>
/// <param name="Source">Where the decision comes from, for the run's plan line (e.g. "do_lower_case in DIR/tokenizer_config.json").</param>
public sealed record LowercaseDecision(bool Lowercase, string Source)
{
    /// <summary>"lower-casing on (SOURCE)" for plan lines.</summary>
    public override string ToString() => $"lower-casing {(Lowercase ? "on" : "off")} ({Source})";
}

/// <summary>
/// The one lower-casing rule of <c>tokenize</c>, <c>pretrain-data</c> and <c>finetune --config</c>: an explicit
/// <c>lowercase</c> wins; else the tokenizer's own setting (<c>do_lower_case</c> in <c>tokenizer_config.json</c>, then the
/// normalizer of <c>tokenizer.json</c>); else it is detected from the vocabulary: uncased when no token outside the bracketed
/// specials has an upper-case letter.
/// </summary>
public static class LowercaseRule
{
    /// <summary>Whether a vocabulary is uncased: no token outside the bracketed specials has a letter that lower-casing changes.</summary>
    public static bool LooksUncased(Vocabulary vocab)
    {
        ArgumentNullException.ThrowIfNull(vocab);
        return CasedTokens(vocab).Count == 0;
    }

    /// <summary>
    /// Decides for a tokenizer given as a vocab.txt, a tokenizer.json or a tokenizer directory. A <c>vocab.txt</c> (by that
    /// name) takes the <c>tokenizer_config.json</c> / <c>tokenizer.json</c> of its folder, as an HF directory would.
    /// </summary>
    /// <param name="path">vocab.txt, tokenizer.json or a directory.</param>
    /// <param name="requested">lowercase, or null.</param>
    public static LowercaseDecision Resolve(string path, bool? requested)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (requested is bool b)
        {
            return new LowercaseDecision(b, b ? "lowercase=true given" : "lowercase=false given");
        }
        var isDir = Directory.Exists(path);
        var dir = isDir ? path : Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
        var name = Path.GetFileName(path);
        var hfLayout = isDir || name.Equals("vocab.txt", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".json", StringComparison.OrdinalIgnoreCase);
        if (hfLayout)
        {
            var configPath = Path.Combine(dir, TokenizerConfig.FileName);
            if (File.Exists(configPath) && TokenizerConfig.Load(configPath).DoLowerCase is bool c)
            {
                return new LowercaseDecision(c, $"do_lower_case in {configPath}");
            }
            var json = name.EndsWith(".json", StringComparison.OrdinalIgnoreCase) && !isDir ? path : Path.Combine(dir, "tokenizer.json");
            if (File.Exists(json))
            {
                return new LowercaseDecision(BertTokenizer.FromTokenizerJson(json).Lowercase, $"the normalizer of {json}");
            }
        }
        var vocabPath = isDir ? Path.Combine(path, "vocab.txt") : path;
        return Detect(Vocabulary.Load(vocabPath), vocabPath);
    }

    /// <summary>Decides from the vocabulary alone.</summary>
    public static LowercaseDecision Detect(Vocabulary vocab, string vocabPath)
    {
        var cased = CasedTokens(vocab);
        if (cased.Count == 0)
        {
            return new LowercaseDecision(true, $"detected: no token of {Path.GetFileName(vocabPath)} has an upper-case letter");
        }
        var examples = string.Join(", ", cased.Take(3).Select(t => "'" + t + "'"));
        return new LowercaseDecision(false, string.Create(CultureInfo.InvariantCulture,
            $"detected: {cased.Count:N0} tokens of {Path.GetFileName(vocabPath)} have upper-case letters, e.g. {examples}"));
    }

    // A letter that lower-casing changes: 'ℝ' is upper-case but has no lower-case form, and bert-base-uncased contains it.
    private static List<string> CasedTokens(Vocabulary vocab) =>
        [.. vocab.Tokens.Where(t => !(t.StartsWith('[') && t.EndsWith(']')) && t.Any(c => char.ToLowerInvariant(c) != c))];
}
