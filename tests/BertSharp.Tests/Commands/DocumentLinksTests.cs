using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Commands;

/// <summary>
/// Every relative link of the repository's Markdown (<c>[text](path)</c>, <c>[text](path#anchor)</c>, <c>[text](#anchor)</c>)
/// leads somewhere: the file or folder exists, and an anchor into a Markdown file is one of its headings as GitHub names them.
/// A renamed heading or a moved file otherwise leaves links that only a reader clicking them would notice. Links inside code
/// (fences and inline spans) are examples, not links, and web addresses are not followed (no test touches the network).
/// </summary>
public sealed partial class DocumentLinksTests
{
    [Fact]
    public void Every_relative_link_and_anchor_in_the_markdown_resolves()
    {
        var broken = DocumentedCommandsTests.DocumentFiles()
            .Where(f => f.EndsWith(".md", StringComparison.Ordinal))
            .SelectMany(f => Broken(TestPaths.RepoRoot, f))
            .ToList();
        Assert.True(broken.Count == 0, string.Join('\n', broken));
    }

    [Fact]
    public void A_missing_file_a_wrong_anchor_and_a_link_in_code_are_told_apart()
    {
        using var dir = TestPaths.TempDir();
        Directory.CreateDirectory(Path.Combine(dir.Path, "docs"));
        File.WriteAllText(Path.Combine(dir.Path, "docs", "b.md"), """
            # Fine-tuning: `--save-best` (and more)
            ## Data
            ## Data
            ```
            # not a heading
            ```
            """);
        File.WriteAllText(Path.Combine(dir.Path, "a.md"), """
            # Top
            [ok](docs/b.md#fine-tuning---save-best-and-more) [ok](docs/b.md#data-1) [ok](#top) [ok](docs) [web](https://x.org/#y)
            [gone](docs/c.md) [bad](docs/b.md#data-2) [fenced](docs/b.md#not-a-heading) [self](#nowhere)
            `[code](nowhere.md)`
            ```
            [fence](nowhere.md)
            ```
            """);
        Assert.Equal(
            [
                "a.md:3: docs/c.md: no such file or folder",
                "a.md:3: docs/b.md#data-2: no heading of docs/b.md has that anchor",
                "a.md:3: docs/b.md#not-a-heading: no heading of docs/b.md has that anchor",
                "a.md:3: #nowhere: no heading of a.md has that anchor",
            ],
            Broken(dir.Path, "a.md"));
    }

    /// <summary>The broken relative links of one Markdown file (a path relative to <paramref name="root"/>), as "file:line: link: why".</summary>
    internal static List<string> Broken(string root, string file)
    {
        var broken = new List<string>();
        var lines = ProseLines(Path.Combine(root, file));
        for (var i = 0; i < lines.Length; i++)
        {
            foreach (Match m in Link().Matches(lines[i]))
            {
                var target = m.Groups[1].Value;
                if (Scheme().IsMatch(target))
                {
                    continue;
                }
                var hash = target.IndexOf('#', StringComparison.Ordinal);
                var path = hash < 0 ? target : target[..hash];
                var full = path.Length == 0 ? Path.Combine(root, file)
                    : Path.GetFullPath(Path.Combine(root, Path.GetDirectoryName(file)!, Uri.UnescapeDataString(path)));
                var where = Path.GetRelativePath(root, full).Replace('\\', '/');
                if (!File.Exists(full) && !Directory.Exists(full))
                {
                    broken.Add($"{file}:{i + 1}: {target}: no such file or folder");
                }
                else if (hash >= 0 && full.EndsWith(".md", StringComparison.Ordinal) && !Anchors(full).Contains(target[(hash + 1)..]))
                {
                    broken.Add($"{file}:{i + 1}: {target}: no heading of {where} has that anchor");
                }
            }
        }
        return broken;
    }

    /// <summary>
    /// The anchors GitHub gives a Markdown file's ATX headings: the heading's text without its Markdown (a link's text kept),
    /// lower-cased, every character but letters, digits, '_', '-' and spaces removed, spaces turned into '-'; a repeated
    /// anchor gets -1, -2, ... Headings inside fences are none.
    /// </summary>
    internal static HashSet<string> Anchors(string path)
    {
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        var inFence = false;
        foreach (var line in File.ReadLines(path))
        {
            if (line.TrimStart().StartsWith("```", StringComparison.Ordinal))
            {
                inFence = !inFence;
                continue;
            }
            if (inFence || Heading().Match(line) is not { Success: true } h)
            {
                continue;
            }
            var text = InlineLink().Replace(h.Groups[1].Value.Trim(), "$1").ToLowerInvariant();
            var slug = new StringBuilder();
            foreach (var c in text)
            {
                if (c == ' ')
                {
                    slug.Append('-');
                }
                else if (c is '-' or '_' || char.IsLetterOrDigit(c)
                    || CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark)
                {
                    slug.Append(c);
                }
            }
            var anchor = slug.ToString();
            for (var n = 1; !anchors.Add(anchor); n++)
            {
                anchor = $"{slug}-{n}";
            }
        }
        return anchors;
    }

    /// <summary>A file's lines with fenced blocks and inline code spans blanked, so that the line numbers stay.</summary>
    private static string[] ProseLines(string path)
    {
        var lines = File.ReadAllLines(path);
        var inFence = false;
        for (var i = 0; i < lines.Length; i++)
        {
            var fence = lines[i].TrimStart().StartsWith("```", StringComparison.Ordinal);
            lines[i] = inFence || fence ? "" : CodeSpan().Replace(lines[i], "");
            inFence ^= fence;
        }
        return lines;
    }

    [GeneratedRegex(@"\]\(([^()\s]+)\)")]
    private static partial Regex Link();

    [GeneratedRegex(@"^[A-Za-z][A-Za-z0-9+.-]*:")]
    private static partial Regex Scheme();

    [GeneratedRegex(@"^#{1,6}\s+(.*?)\s*#*\s*$")]
    private static partial Regex Heading();

    [GeneratedRegex(@"\[([^\]]*)\]\([^)]*\)")]
    private static partial Regex InlineLink();

    [GeneratedRegex("`+[^`]*`+")]
    private static partial Regex CodeSpan();
}
