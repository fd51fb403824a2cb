using System.Text;
using System.Text.RegularExpressions;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Commands;

/// <summary>
/// Every <c>bert</c> command the documentation and the scripts show parses: its subcommand and every flag exist, and
/// flags with a fixed set of values get one of them. Docs and scripts are not compiled, so a renamed or removed flag would
/// otherwise live on in them until a user copies the command and gets an error.
/// The commands of the Markdown's inline code are checked for their names only: a synopsis there shows alternatives and
/// placeholders in place of values, and each alternative is checked in a line of its own.
/// Parsing only: nothing runs (TasksDocsExampleTests runs the task examples).
/// </summary>
public sealed partial class DocumentedCommandsTests
{
    /// <summary>
    /// The repository's Markdown and shell files, relative to its root: not build or run outputs, not installed packages,
    /// not dot-folders (a checkout need not be a git clone, so this does not ask git).
    /// </summary>
    internal static string[] DocumentFiles()
    {
        string[] skipped = ["bin", "obj", "node_modules", "TestResults", "runs", "artifacts", "BenchmarkDotNet.Artifacts"];
        var files = new List<string>();
        void Walk(string dir)
        {
            files.AddRange(Directory.EnumerateFiles(dir).Where(f => f.EndsWith(".md", StringComparison.Ordinal) || f.EndsWith(".sh", StringComparison.Ordinal)));
            foreach (var sub in Directory.EnumerateDirectories(dir))
            {
                var name = Path.GetFileName(sub);
                if (!name.StartsWith('.') && !skipped.Contains(name))
                {
                    Walk(sub);
                }
            }
        }
        Walk(TestPaths.RepoRoot);
        return [.. files.Select(f => Path.GetRelativePath(TestPaths.RepoRoot, f)).Order(StringComparer.Ordinal)];
    }

    /// <summary>
    /// The CLI commands of one file as (line, text): in Markdown the lines of ```bash blocks, in shell scripts every line;
    /// continuation lines joined; only lines that start (after environment assignments and a time/timeout prefix) with
    /// <c>./bert</c>, <c>bert</c>, <c>$bert</c> or <c>$BERT</c>.
    /// </summary>
    internal static List<(int Line, string Text)> Commands(string path)
    {
        var markdown = path.EndsWith(".md", StringComparison.Ordinal);
        var commands = new List<(int, string)>();
        // Markdown: outside a fence, in a shell (or unlabelled) fence, or in another language's fence.
        var fence = markdown ? Fence.None : Fence.Shell;
        var current = new StringBuilder();
        var start = 0;
        var number = 0;
        foreach (var raw in File.ReadLines(path))
        {
            number++;
            if (markdown && raw.TrimStart().StartsWith("```", StringComparison.Ordinal))
            {
                fence = fence != Fence.None ? Fence.None
                    : raw.Trim()[3..] is "" or "bash" or "sh" or "shell" or "console" ? Fence.Shell : Fence.Other;
                current.Clear();
                continue;
            }
            if (fence != Fence.Shell)
            {
                continue;
            }
            var line = raw.Trim();
            if (current.Length == 0)
            {
                if (Start().Match(line) is not { Success: true } m)
                {
                    continue;
                }
                line = line[m.Length..];
                start = number;
            }
            current.Append(line.TrimEnd('\\').TrimEnd()).Append(' ');
            if (!line.EndsWith('\\'))
            {
                commands.Add((start, current.ToString().Trim()));
                current.Clear();
            }
        }
        return commands;
    }

    private enum Fence
    {
        None,
        Shell,
        Other,
    }

    // Environment assignments, then an optional /usr/bin/time or timeout prefix, then the CLI.
    [GeneratedRegex(@"^(?:[A-Z_][A-Z0-9_]*=\S*\s+)*(?:(?:/usr/bin/time|timeout)(?:\s+-\S+(?:\s+""[^""]*""|\s+\S+)?)*\s+(?:\d+\s+)?)?(?:\./bert|bert|\$bert|\$BERT|""\$BERT"")\s+")]
    private static partial Regex Start();

    /// <summary>
    /// The arguments of a command line up to its end (a pipe, redirection, <c>;</c>, <c>&amp;&amp;</c>, a comment), quotes
    /// removed; a shell expansion becomes a placeholder value. Null for a line whose arguments come from a shell array.
    /// </summary>
    internal static string[]? Arguments(string command)
    {
        var args = new List<string>();
        foreach (Match m in Word().Matches(command))
        {
            var w = m.Value;
            if (w is "|" or ";" or "&&" or "||" or "&" || w.StartsWith('#') || Regex.IsMatch(w, @"^\d?>|^<"))
            {
                break;
            }
            if (w.Contains("[@]", StringComparison.Ordinal) || w is "\"$@\"" or "$@")
            {
                return null;
            }
            var quoted = w.Length >= 2 && (w[0] == '"' && w[^1] == '"' || w[0] == '\'' && w[^1] == '\'');
            if (quoted)
            {
                args.Add(w.Contains('$', StringComparison.Ordinal) ? Placeholder : w[1..^1]);
                continue;
            }
            // The shell's brace expansion makes several words of one ($D/{a,b}.tsv): an option that takes one value
            // would get the second as a stray argument.
            if (Brace().Match(w) is { Success: true } brace)
            {
                args.AddRange(brace.Groups[1].Value.Split(',').Select(alt => w[..brace.Index] + alt + w[(brace.Index + brace.Length)..])
                    .Select(e => e.Contains('$', StringComparison.Ordinal) ? Placeholder : e));
                continue;
            }
            // A synopsis: [optional] and (grouped) words, alternatives a|b, "...", and NAME placeholders.
            w = w.Trim('[', ']', '(', ')');
            w = w.IndexOf('(', StringComparison.Ordinal) is > 0 and var paren ? w[..paren] : w;
            if (w is "")
            {
                continue;
            }
            if (w is "..." or "…")
            {
                // An option's elided value stands for a value; elided words elsewhere are left out.
                if (args.Count > 0 && args[^1].StartsWith("--", StringComparison.Ordinal))
                {
                    args.Add(Placeholder);
                }
                continue;
            }
            if (!w.StartsWith('-') && w.Contains('|', StringComparison.Ordinal))
            {
                w = w[..w.IndexOf('|', StringComparison.Ordinal)];
            }
            args.Add(w.Contains('$', StringComparison.Ordinal) || Regex.IsMatch(w, "^[A-Z][A-Z0-9_]*(?:\\.\\.\\.|…)?$") ? Placeholder : w);
        }
        return [.. args];
    }

    /// <summary>What a shell variable or a NAME placeholder stands for: a value that parses as a number and as a path.</summary>
    private const string Placeholder = "1";

    [GeneratedRegex(@"""(?:[^""\\]|\\.)*""|'[^']*'|\$\([^)]*\)\S*|\S+")]
    private static partial Regex Word();

    [GeneratedRegex(@"(?<!\$)\{([^{},]*(?:,[^{},]*)+)\}")]
    private static partial Regex Brace();

    [Fact]
    public void Every_documented_bert_command_parses()
    {
        var root = Cli.Program.BuildRoot();
        var checkedCount = 0;
        var problems = new List<string>();
        foreach (var file in DocumentFiles())
        {
            foreach (var (line, text) in Commands(Path.Combine(TestPaths.RepoRoot, file)))
            {
                foreach (var (args, where) in Parts(text, $"{file}:{line}"))
                {
                    Check(root, args, where, problems);
                }
                checkedCount++;
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
        // 92 on 2026-12-03: far fewer would mean the extraction no longer finds them.
        Assert.True(checkedCount >= 80, $"only {checkedCount} documented commands found: the extraction is broken");
    }

    [Fact]
    public void Every_command_and_flag_named_in_inline_code_exists()
    {
        var root = Cli.Program.BuildRoot();
        var checkedCount = 0;
        var problems = new List<string>();
        foreach (var file in DocumentFiles().Where(f => f.EndsWith(".md", StringComparison.Ordinal)))
        {
            foreach (var (line, text) in InlineCommands(Path.Combine(TestPaths.RepoRoot, file)))
            {
                var parts = Parts(text, $"{file}:{line}");
                foreach (var (args, where) in parts)
                {
                    problems.AddRange(UnknownNames(root, args).Select(token => $"{where}: {token}"));
                }
                checkedCount += parts.Count > 0 ? 1 : 0;
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
        // 226 on 2026-12-05 (188 spans, some with alternatives): far fewer would mean the extraction no longer finds them.
        Assert.True(checkedCount >= 150, $"only {checkedCount} inline bert commands found: the extraction is broken");
    }

    /// <summary>
    /// The argument lists of one command line to parse, with where each is: none for a placeholder command (<c>bert
    /// COMMAND</c>) or one whose arguments come from a shell array; two for <c>bert launch [--nproc N] -- COMMAND</c>,
    /// whose command after <c>--</c> is a bert command too.
    /// </summary>
    private static List<(string[] Args, string Where)> Parts(string text, string where)
    {
        if (Arguments(text) is not { Length: > 0 } args || args[0] == Placeholder
            || args[0].StartsWith('-') && args[0] is not ("--version" or "--help"))
        {
            return [];
        }
        var parts = new List<(string[], string)>();
        var sep = Array.IndexOf(args, "--");
        if (args[0] == "launch" && sep > 0 && sep + 1 < args.Length)
        {
            var inner = args[(sep + 1)..];
            inner = inner[0] is "./bert" or "bert" ? inner[1..] : inner;
            if (inner.Length > 0 && inner[0] != Placeholder)
            {
                parts.Add((inner, $"{where} (after --)"));
            }
            args = args[..sep];
        }
        parts.Add((args, where));
        return parts;
    }

    /// <summary>
    /// The CLI commands in inline code outside fences as (line of the span's start, text): spans that start as a command
    /// line does (<see cref="Start"/>), a span wrapped over several lines joined, and a span that shows alternatives once
    /// for each (<see cref="Alternatives"/>), a table's escaped <c>\|</c> being a <c>|</c>.
    /// </summary>
    internal static List<(int Line, string Text)> InlineCommands(string path)
    {
        var lines = File.ReadAllLines(path);
        var inFence = false;
        for (var i = 0; i < lines.Length; i++)
        {
            var fenceLine = lines[i].TrimStart().StartsWith("```", StringComparison.Ordinal);
            inFence ^= fenceLine;
            if (inFence || fenceLine)
            {
                // Blanked, not removed: the line numbers stay those of the file.
                lines[i] = "";
            }
        }
        var prose = string.Join('\n', lines);
        var commands = new List<(int, string)>();
        foreach (Match m in InlineCode().Matches(prose))
        {
            var span = m.Groups[1].Value.ReplaceLineEndings(" ").Trim();
            if (Start().Match(span + " ") is { Success: true } cli)
            {
                var line = 1 + prose.AsSpan(0, m.Index).Count('\n');
                commands.AddRange(Alternatives(span[Math.Min(cli.Length, span.Length)..].Replace("\\|", "|", StringComparison.Ordinal))
                    .Select(text => (line, text)));
            }
        }
        return commands;
    }

    /// <summary>
    /// The command lines a synopsis stands for: its first alternatives, then for each further alternative the same line with
    /// it in place of the first of its group, so that every subcommand (<c>bert predict / evaluate</c>, <c>bench tokenize |
    /// allreduce</c>, <c>bench tokenize|allreduce</c>) is checked, each where the parser takes it for one. Alternatives are
    /// words joined by a lone <c>|</c> or <c>/</c>, or by <c>|</c> inside a word without quotes or parentheses
    /// (<c>FILE(.txt|.csv)</c> is one placeholder); a flag after a lone separator is an alternative of a whole option and
    /// stays in the line, as options are checked by name only.
    /// </summary>
    internal static List<string> Alternatives(string synopsis)
    {
        var groups = new List<List<string>>();
        var words = Word().Matches(synopsis).Select(m => m.Value).ToArray();
        for (var i = 0; i < words.Length; i++)
        {
            if (words[i] is "|" or "/")
            {
                if (groups.Count > 0 && i + 1 < words.Length && words[i + 1] is not ("|" or "/") && !words[i + 1].StartsWith('-'))
                {
                    groups[^1].Add(words[++i]);
                }
                continue;
            }
            groups.Add(JoinedAlternatives().IsMatch(words[i]) ? [.. words[i].Split('|')] : [words[i]]);
        }
        var lines = new List<string> { string.Join(' ', groups.Select(g => g[0])) };
        for (var g = 0; g < groups.Count; g++)
        {
            lines.AddRange(groups[g].Skip(1).Select(alternative => string.Join(' ', groups.Select((other, j) => j == g ? alternative : other[0]))));
        }
        return lines;
    }

    [GeneratedRegex(@"^(?!-)[^\s|""'()$]+(?:\|[^\s|""'()$]+)+$")]
    private static partial Regex JoinedAlternatives();

    // A code span of one backtick; it may wrap, but not across a blank line.
    [GeneratedRegex(@"(?<!`)`((?:[^`\n]|\n(?![ \t]*\n))+)`(?!`)")]
    private static partial Regex InlineCode();

    /// <summary>
    /// The words of a command line that name no command or flag: the parser's unmatched tokens, and any flag the command
    /// (and its parents) lack, which an argument taking several values could otherwise swallow. Values, placeholders and
    /// missing required options are not looked at.
    /// </summary>
    private static List<string> UnknownNames(System.CommandLine.RootCommand root, string[] args)
    {
        var result = root.Parse(args);
        var known = new HashSet<string>(StringComparer.Ordinal);
        for (var c = (System.CommandLine.Parsing.SymbolResult?)result.CommandResult; c is not null; c = c.Parent)
        {
            if (c is System.CommandLine.Parsing.CommandResult { Command: var command })
            {
                foreach (var o in command.Options)
                {
                    known.Add(o.Name);
                    known.UnionWith(o.Aliases);
                }
            }
        }
        var flags = args.Where(a => a.StartsWith('-') && a != "--" && !Regex.IsMatch(a, @"^-\d") && !known.Contains(a));
        return [.. result.UnmatchedTokens.Union(flags, StringComparer.Ordinal)];
    }

    private static void Check(System.CommandLine.RootCommand root, string[] args, string where, List<string> problems)
    {
        var result = root.Parse(args);
        // Missing required options are fine (a doc may show a fragment); unknown words and invalid values are not.
        var errors = result.Errors.Select(e => e.Message)
            .Where(m => !m.Contains("is required", StringComparison.OrdinalIgnoreCase) && !m.Contains("Required", StringComparison.Ordinal))
            .ToList();
        if (errors.Count > 0)
        {
            problems.Add($"{where}: bert {string.Join(' ', args)} → {string.Join("; ", errors)}");
        }
    }

    [Fact]
    public void Commands_are_found_in_bash_blocks_and_scripts_with_their_continuation_lines()
    {
        using var tmp = TestPaths.TempDir();
        var md = tmp.File("a.md");
        File.WriteAllText(md, "text ./bert no\n```bash\n./bert finetune --task sst2 \\\n  --epochs 1   # comment\nls\nOUT=x ./bert predict --text \"a b\" | head\n```\n```json\n./bert nope\n```\n");
        Assert.Equal([(3, "finetune --task sst2 --epochs 1   # comment"), (6, "predict --text \"a b\" | head")], Commands(md));
        Assert.Equal(["finetune", "--task", "sst2", "--epochs", "1"], Arguments("finetune --task sst2 --epochs 1   # comment")!);
        Assert.Equal(["predict", "--text", "a b"], Arguments("predict --text \"a b\" | head")!);
        Assert.Equal(["serve", "--model", "1", "--port", "0"], Arguments("serve --model \"$work/model\" --port 0 > log 2>&1 &")!);
        Assert.Null(Arguments("\"${common[@]}\" --output x"));
        Assert.Equal(["ner", "--model", "1", "--text", "1", "--aggregation", "none", "--max-length", "1"],
            Arguments("ner --model DIR --text ... [--aggregation none|simple] [--max-length N]")!);
        Assert.Equal(["search", "--corpus", "1", "--query", "1"], Arguments("search --corpus FILE(.txt|.csv) (--query ...")!);
        Assert.Equal(["finetune"], Arguments("finetune ...")!);
        Assert.Equal(["evaluate", "--data", "1", "1", "--task", "cola"], Arguments("evaluate --data $D/{a,b}.tsv --task cola")!);
        Assert.Equal(["evaluate", "--data", "x/a.tsv", "x/b.tsv"], Arguments("evaluate --data x/{a,b}.tsv")!);
        Assert.Equal(["evaluate", "--data", "1"], Arguments("evaluate --data ${D}/a.tsv")!);
        File.WriteAllText(md, "see `bert ner`, `bert COMMAND` and `X=1 bert qa --top-k\n2 --task ner / squad / swag`\n```bash\n`bert nope`\n```\n"
            + "| `bert predict (--text T \\| --input F)` | `bert bench tokenize \\| allreduce` | `bertsharp x` |\n"
            + "`bert predict / evaluate --model M --data a|b` and `bert bench tokenize|pretrain-memory --text \"a | b\"`\n");
        Assert.Equal([(1, "ner"), (1, "COMMAND"), (1, "qa --top-k 2 --task ner"), (1, "qa --top-k 2 --task squad"), (1, "qa --top-k 2 --task swag"),
                (6, "predict (--text T --input F)"), (6, "bench tokenize"), (6, "bench allreduce"),
                (7, "predict --model M --data a"), (7, "evaluate --model M --data a"), (7, "predict --model M --data b"),
                (7, "bench tokenize --text \"a | b\""), (7, "bench pretrain-memory --text \"a | b\"")],
            InlineCommands(md));
        var sh = tmp.File("a.sh");
        File.WriteAllText(sh, "#!/bin/sh\n  /usr/bin/time -f \"%e\" -o t ./bert pretrain --steps 3\n$bert evaluate --model m\necho ./bert no\n");
        Assert.Equal([(2, "pretrain --steps 3"), (3, "evaluate --model m")], Commands(sh));
    }
}
