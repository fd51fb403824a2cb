using System.Text.Json;
using System.Text.RegularExpressions;
using BertSharp.IO;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Architecture;

/// <summary>
/// Messages name a line of an input file one way, <c>FILE line N: ...</c> (<see cref="LineRef.At"/>), the form most
/// readers and their tests used; the other form, <c>FILE: line N: ...</c>, must not come back in the sources or the
/// documentation, where users and scripts matching one form would miss the other.
/// </summary>
public sealed partial class LineRefTests
{
    [Fact]
    public void LineRef_names_the_file_then_the_line() =>
        Assert.Equal("data/train.tsv line 12", LineRef.At("data/train.tsv", 12));

    [Fact]
    public void A_JSON_parse_error_names_its_line_once_and_counts_from_1()
    {
        // The missing comma is on the third line; System.Text.Json counts from 0 and says so again in its own message.
        var e = Assert.ThrowsAny<JsonException>(() => JsonDocument.Parse("{\n  \"a\": 1\n  \"b\": 2\n}"));
        Assert.Equal(2, e.LineNumber);
        Assert.Equal("c.json line 3: not valid JSON ('\"' is invalid after a value. Expected either ',', '}', or ']')",
            LineRef.NotValidJson("c.json", e));
    }

    [Fact]
    public void A_JSON_reason_quotes_at_most_the_start_of_a_long_invalid_literal()
    {
        // The literal runs to the next delimiter: 5,000 characters of it made a 5 KB error line.
        var e = Assert.ThrowsAny<JsonException>(() => JsonDocument.Parse("{\"x\": tr" + new string('u', 5000) + "}"));
        Assert.Equal("c.json line 1: not valid JSON ('tr" + new string('u', 38) + "…' is an invalid JSON literal. Expected the literal 'true')",
            LineRef.NotValidJson("c.json", e));
    }

    [Fact]
    public void A_JSON_reason_that_quotes_across_a_line_break_stays_whole_on_one_line()
    {
        // System.Text.Json quotes an invalid literal up to the next delimiter, here the newline and the closing brace.
        var e = Assert.ThrowsAny<JsonException>(() => JsonDocument.Parse("{\n \"x\": tru\n}"));
        Assert.Equal("c.json line 2: not valid JSON ('tru\\n}' is an invalid JSON literal. Expected the literal 'true')",
            LineRef.NotValidJson("c.json", e));
    }

    [Fact]
    public void No_source_says_file_colon_line()
    {
        var src = Path.Combine(TestPaths.RepoRoot, "src");
        var hits = Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories)
            .Where(f => !IsBuildOutput(f))
            .SelectMany(f => Hits(f, SourceColonLine()).Concat(Hits(f, SourceCompilerStyleLine())))
            .ToList();
        Assert.True(hits.Count == 0, "say FILE line N (LineRef.At), not FILE: line N: or FILE:N:\n" + string.Join("\n", hits));
    }

    [Theory]
    // TrainLog's message until 823b675, and the other ways a line number is written in a hole.
    [InlineData("""throw new BertSharpException($"{path}:{i + 1}: not a log entry ({e.Message}).", e);""", true)]
    [InlineData("""Invariant($"{file}:{lineNo}: {what}")""", true)]
    [InlineData("""$"{data.Path}:{e.Line}:{column}: bad""", true)]
    [InlineData("""$"{path}:{currentLine,4}: x""", true)]
    // What src/ has that is not a file's line: a pickle inside an archive, a host and port, a clock, a tensor signature.
    [InlineData("""var source = $"{path}:{pkl.FullName}";""", false)]
    [InlineData("""return [$"http://{name}:{p}"];""", false)]
    [InlineData("""Invariant($"{(long)t.TotalHours}:{t.Minutes:00}:{t.Seconds:00}")""", false)]
    [InlineData("""$"{p.Name}:{ShapeText.Join(p.Parameter.shape, "x")}:{p.Parameter.dtype}""", false)]
    [InlineData("""$"{stage}:{pipeline}: {x + 10}""", false)]
    public void The_compiler_style_scan_knows_a_line_number_from_other_holes(string source, bool isFileColonLine) =>
        Assert.Equal(isFileColonLine, SourceCompilerStyleLine().IsMatch(source));

    [Fact]
    public void Every_file_and_line_goes_through_LineRef()
    {
        var src = Path.Combine(TestPaths.RepoRoot, "src");
        var hits = Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories)
            .Where(f => !IsBuildOutput(f) && Path.GetFileName(f) != "LineRef.cs")
            .SelectMany(f => Hits(f, HandMadeLine()))
            .ToList();
        Assert.True(hits.Count == 0, "name a file's line with LineRef.At:\n" + string.Join("\n", hits));
    }

    [Fact]
    public void No_document_says_file_colon_line()
    {
        var root = TestPaths.RepoRoot;
        var docs = Directory.EnumerateFiles(Path.Combine(root, "docs"), "*.md")
            .Append(Path.Combine(root, "README.md"))
            .Concat(Directory.EnumerateFiles(Path.Combine(root, "src"), "README.md", SearchOption.AllDirectories)
                .Where(f => !IsBuildOutput(f)));
        var hits = docs.SelectMany(f => Hits(f, DocumentColonLine())).ToList();
        Assert.True(hits.Count == 0, "say FILE line N, not FILE: line N:\n" + string.Join("\n", hits));
    }

    private static bool IsBuildOutput(string path) =>
        path.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj");

    private static IEnumerable<string> Hits(string file, Regex pattern) =>
        File.ReadLines(file)
            .Select((text, i) => (text, line: i + 1))
            .Where(l => pattern.IsMatch(l.text))
            .Select(l => $"{Path.GetRelativePath(TestPaths.RepoRoot, file)}:{l.line}: {l.text.Trim()}");

    // A string that goes on after "line " with a hole, a digit or its end ("...: line " + n).
    [GeneratedRegex(@":\s?line (\{|\d|"")")]
    private static partial Regex SourceColonLine();

    // "{path}:{i + 1}:" as compilers write it: a hole after "}:" that holds a line (a name with the word Line, or something
    // plus one) and a colon after it. Other "}:{" pairs in src/ are hosts and ports, clocks and signatures, which name no line.
    [GeneratedRegex(@"\}:\{[^{}]*(?:(?<![A-Za-z])[Ll]ine|(?<=[a-z])Line|\+\s*1\b)[^{}]*\}:")]
    private static partial Regex SourceCompilerStyleLine();

    // "{path} line {n}" or "{path} line 1" written out again beside the helper.
    [GeneratedRegex(@"\} line (\{|\d)")]
    private static partial Regex HandMadeLine();

    // A message quoted in prose, with a number or the placeholder N.
    [GeneratedRegex(@"\S: line (\d|N\b)")]
    private static partial Regex DocumentColonLine();
}
