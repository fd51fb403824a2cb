using System.Text;
using System.Text.RegularExpressions;

namespace BertSharp.Checkpoints;

/// <summary>
/// huggingface_hub's <c>filter_repo_objects</c> (utils/_paths.py): Python's <c>fnmatch</c> over a file's path in the repo,
/// case-sensitive as on POSIX, where <c>*</c> also matches <c>/</c> and a pattern ending in <c>/</c> gets a <c>*</c>
/// appended (so <c>eval/</c> is the whole folder).
/// </summary>
internal static class HubPathPatterns
{
    /// <summary>
    /// huggingface_hub's DEFAULT_IGNORE_PATTERNS, which upload_folder adds to every ignore list: git's own folder (the Hub
    /// refuses paths under <c>.git/</c>) and huggingface_hub's download metadata in a local folder.
    /// </summary>
    public static IReadOnlyList<string> DefaultIgnore { get; } =
        [".git", ".git/*", "*/.git", "**/.git/**", ".cache/huggingface", ".cache/huggingface/*", "*/.cache/huggingface", "**/.cache/huggingface/**"];

    /// <summary>One fnmatch pattern as an anchored regex; <paramref name="field"/> names it in the error for a bad one.</summary>
    public static Regex Compile(string pattern, string field)
    {
        if (pattern.Length == 0)
        {
            throw new BertSharpException($"{BertSharpException.Field(field)}: empty pattern; expected a glob such as '*.json' or 'eval/'.");
        }
        if (pattern.EndsWith('/'))
        {
            pattern += "*";
        }
        var regex = new StringBuilder("^");
        for (int i = 0; i < pattern.Length; i++)
        {
            char c = pattern[i];
            if (c == '*')
            {
                regex.Append(".*");
            }
            else if (c == '?')
            {
                regex.Append('.');
            }
            else if (c == '[' && SetEnd(pattern, i) is int end and > 0)
            {
                regex.Append(Set(pattern[(i + 1)..end], pattern, field));
                i = end;
            }
            else
            {
                regex.Append(Regex.Escape(c.ToString()));
            }
        }
        return new Regex(regex.Append('$').ToString(), RegexOptions.Singleline | RegexOptions.CultureInvariant);
    }

    /// <summary>fnmatch.translate: a <c>]</c> right after <c>[</c> or <c>[!</c> belongs to the set; no closing <c>]</c> makes the <c>[</c> literal (-1).</summary>
    private static int SetEnd(string pattern, int open)
    {
        int j = open + 1;
        if (j < pattern.Length && pattern[j] == '!')
        {
            j++;
        }
        if (j < pattern.Length && pattern[j] == ']')
        {
            j++;
        }
        return j < pattern.Length ? pattern.IndexOf(']', j) : -1;
    }

    private static string Set(string inner, string pattern, string field)
    {
        var set = new StringBuilder("[");
        int start = 0;
        if (inner.StartsWith('!'))
        {
            set.Append('^');
            start = 1;
        }
        for (int k = start; k < inner.Length; k++)
        {
            char c = inner[k];
            if (c == '-' && k > start && k < inner.Length - 1)
            {
                if (inner[k - 1] > inner[k + 1])
                {
                    throw new BertSharpException(
                        $"{BertSharpException.Field(field)} '{SafeText.Escape(pattern)}': range '{inner[k - 1]}-{inner[k + 1]}' is reversed; expected a glob such as '[a-z]*.json'.");
                }
                set.Append('-');
            }
            else
            {
                // Everything else is a literal member of the set; .NET reads \ [ ] ^ - inside one as syntax.
                set.Append(c is '\\' or '[' or ']' or '^' or '-' ? "\\" + c : c.ToString());
            }
        }
        return set.Append(']').ToString();
    }
}
