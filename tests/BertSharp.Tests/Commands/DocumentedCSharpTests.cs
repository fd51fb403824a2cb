using System.Collections.Immutable;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using BertSharp.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;

namespace BertSharp.Tests.Commands;

/// <summary>
/// Every ```csharp block of the Markdown compiles against the library packages (BertSharp.Tokenizers, BertSharp,
/// BertSharp.Training, BertSharp.Inference), TorchSharp and the framework, with a console app's implicit usings: learners
/// copy them, and nothing else would notice a renamed member or a missing using in them. Compiled, never run: they need
/// model files and data. Analysed too by the banned-call analyzer the build runs (build/BannedSymbols.txt): a block must not
/// teach a TorchSharp call that makes a Scalar it does not keep alive, which the library's own code may not make either.
/// A block is a whole program (top-level statements, then its types) unless an HTML comment right before it, hidden where
/// the Markdown is rendered but there for a maintainer, declares what the fragment assumes:
/// <c>&lt;!-- csharp context: using BertSharp.Training; BertTokenizer tokenizer; string[] texts; --&gt;</c>.
/// A fragment without one fails on its first undeclared name, so no block is skipped.
/// </summary>
public sealed partial class DocumentedCSharpTests
{
    /// <summary>A ```csharp block: where its code starts, the code, and its context comment (line and text) if any.</summary>
    internal sealed record Block(string File, int FirstLine, string Code, int ContextLine, string? Context);

    /// <summary>The ```csharp (or cs, c#) blocks of one Markdown file, each with the context comment that precedes it.</summary>
    internal static List<Block> Blocks(string root, string file)
    {
        var lines = File.ReadAllLines(Path.Combine(root, file));
        var blocks = new List<Block>();
        for (var i = 0; i < lines.Length; i++)
        {
            var fence = lines[i].Trim();
            if (!fence.StartsWith("```", StringComparison.Ordinal))
            {
                continue;
            }
            var end = i + 1;
            while (end < lines.Length && !lines[end].Trim().StartsWith("```", StringComparison.Ordinal))
            {
                end++;
            }
            if (fence[3..].Trim() is "csharp" or "cs" or "c#")
            {
                var previous = i - 1;
                while (previous >= 0 && lines[previous].Trim() is "")
                {
                    previous--;
                }
                // A comment may wrap: back from its end to its start.
                var open = previous;
                if (previous >= 0 && lines[previous].TrimEnd().EndsWith("-->", StringComparison.Ordinal))
                {
                    while (open > 0 && !lines[open].Contains("<!--", StringComparison.Ordinal))
                    {
                        open--;
                    }
                }
                var context = open >= 0 ? ContextComment().Match(string.Join(' ', lines[open..(previous + 1)])) : Match.Empty;
                blocks.Add(new Block(file, i + 2, string.Join('\n', lines[(i + 1)..end]), open + 1,
                    context.Success ? context.Groups[1].Value : null));
            }
            i = end;
        }
        return blocks;
    }

    [GeneratedRegex(@"^\s*<!--\s*csharp context:(.*)-->\s*$", RegexOptions.Singleline)]
    private static partial Regex ContextComment();

    /// <summary>
    /// One block as its own compilation unit, so that several programs coexist in one compilation: its usings (and its
    /// context's) at file level, its statements the body of a method whose parameters are <c>args</c> and the context's
    /// variables, its types after that method's class, all in a namespace of the block's own. #line directives point every
    /// part at its Markdown line. Null, with the syntax errors added to <paramref name="problems"/>, when the block does not
    /// parse.
    /// </summary>
    internal static SyntaxTree? Wrap(Block block, int index, CSharpParseOptions options, List<string> problems)
    {
        var code = CSharpSyntaxTree.ParseText(block.Code, options);
        var syntaxErrors = code.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        if (syntaxErrors.Count > 0)
        {
            problems.AddRange(syntaxErrors.Select(d =>
                $"{block.File}:{block.FirstLine + d.Location.GetLineSpan().StartLinePosition.Line}: {d.Id} {d.GetMessage(System.Globalization.CultureInfo.InvariantCulture)}"));
            return null;
        }
        var unit = (CompilationUnitSyntax)code.GetRoot();
        var lines = block.Code.Split('\n');
        int LineOf(SyntaxNode node, bool end = false)
        {
            var span = node.GetLocation().GetLineSpan();
            return (end ? span.EndLinePosition : span.StartLinePosition).Line;
        }
        var text = new StringBuilder();
        void At(int line) => text.Append("#line ").Append(line).Append(" \"").Append(block.File).Append("\"\n");
        void Lines(int first, int last)
        {
            At(block.FirstLine + first);
            text.AppendJoin('\n', lines[first..(last + 1)]).Append('\n');
        }

        var context = (block.Context ?? "").Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        foreach (var use in context.Where(c => c.StartsWith("using ", StringComparison.Ordinal)))
        {
            At(block.ContextLine);
            text.Append(use).Append(";\n");
        }
        foreach (var use in unit.Usings)
        {
            Lines(LineOf(use), LineOf(use, end: true));
        }
        text.Append("namespace DocumentedCSharp").Append(index).Append(";\n");
        text.Append("static class Program\n{\n");
        At(block.ContextLine);
        text.Append("static async Task Main(")
            .AppendJoin(", ", ["string[] args", .. context.Where(c => !c.StartsWith("using ", StringComparison.Ordinal))])
            .Append(")\n{\n");
        var statements = unit.Members.OfType<GlobalStatementSyntax>().ToList();
        if (statements.Count > 0)
        {
            Lines(LineOf(statements[0]), LineOf(statements[^1], end: true));
        }
        text.Append("}\n}\n");
        var types = unit.Members.Where(m => m is not GlobalStatementSyntax).ToList();
        if (types.Count > 0)
        {
            Lines(LineOf(types[0]), LineOf(types[^1], end: true));
        }
        return CSharpSyntaxTree.ParseText(text.ToString(), options, $"{block.File}.{index}.cs", Encoding.UTF8);
    }

    /// <summary>
    /// What a learner's console app compiles against: the framework's reference assemblies (the SDK's targeting pack, as
    /// this test project's build found it: the runtime's own assemblies hold internals a build never sees, and reading
    /// them costs the compiler more), the four library packages, TorchSharp, and Microsoft.Extensions.AI.OpenAI with what it
    /// brings (OpenAI, System.ClientModel), which docs/serving.md's client of the OpenAI-compatible endpoint uses.
    /// </summary>
    private static List<MetadataReference> References()
    {
        var framework = typeof(DocumentedCSharpTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "FrameworkReferenceDir").Value!;
        Assert.True(File.Exists(Path.Combine(framework, "System.Runtime.dll")), $"{framework} holds no reference assemblies");
        var paths = Directory.EnumerateFiles(framework, "*.dll").Concat(new[]
        {
            typeof(BertSharp.Tokenization.BertTokenizer), typeof(BertSharp.Modeling.BertModel), typeof(BertSharp.Training.Trainer),
            typeof(BertSharp.Inference.TextClassifier), typeof(TorchSharp.torch),
            // docs/serving.md's client of bert serve's OpenAI-compatible embeddings: `dotnet add package Microsoft.Extensions.AI.OpenAI`.
            typeof(Microsoft.Extensions.AI.OpenAIClientExtensions), typeof(Microsoft.Extensions.AI.IEmbeddingGenerator<,>),
            typeof(OpenAI.OpenAIClient), typeof(System.ClientModel.ApiKeyCredential),
        }.Select(t => t.Assembly.Location));
        return [.. paths.Select(p => MetadataReference.CreateFromFile(p))];
    }

    // The global usings of `dotnet new console` (ImplicitUsings), which the whole programs rely on as a learner's would.
    private const string ImplicitUsings = """
        global using System;
        global using System.Collections.Generic;
        global using System.IO;
        global using System.Linq;
        global using System.Net.Http;
        global using System.Threading;
        global using System.Threading.Tasks;
        """;

    /// <summary>
    /// The banned-call analyzer as the build runs it: the package's analyzer assemblies that this test project's build
    /// resolved (its csproj records their paths), and the build's symbol list, which the analyzer finds by its file name.
    /// </summary>
    private static (ImmutableArray<DiagnosticAnalyzer> Analyzers, AnalyzerOptions Options) BannedApiAnalyzer()
    {
        string[] Metadata(string key) => typeof(DocumentedCSharpTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == key).Value!.Split(';', StringSplitOptions.RemoveEmptyEntries);
        var loader = new LoadFromLoader();
        var analyzers = Metadata("BannedApiAnalyzers")
            .SelectMany(path => new AnalyzerFileReference(path, loader).GetAnalyzers(LanguageNames.CSharp))
            .ToImmutableArray();
        Assert.True(analyzers.Length > 0, "the build's BannedApiAnalyzers assemblies hold no C# analyzer");
        var symbols = Metadata("BannedSymbols");
        Assert.True(symbols.Length > 0 && symbols.All(File.Exists), $"the build's banned symbol list is missing: '{string.Join(';', symbols)}'");
        return (analyzers, new AnalyzerOptions([.. symbols.Select(path => new FileText(path))]));
    }

    /// <summary>Loads an analyzer assembly into the test host (Roslyn's own loaders are not public).</summary>
    private sealed class LoadFromLoader : IAnalyzerAssemblyLoader
    {
        // Assembly.LoadFrom resolves an analyzer's dependencies from its own folder, where the package keeps them.
        public void AddDependencyLocation(string fullPath)
        {
        }

        public Assembly LoadFromPath(string fullPath) => Assembly.LoadFrom(fullPath);
    }

    /// <summary>A file given to the analyzers as the build's AdditionalFiles item gives it.</summary>
    private sealed class FileText(string path) : AdditionalText
    {
        public override string Path => path;

        public override SourceText GetText(CancellationToken cancellationToken = default) => SourceText.From(File.ReadAllText(path));
    }

    /// <summary>
    /// Compiles <paramref name="blocks"/> as one compilation, analysed by the banned-call analyzer, and lists its errors and
    /// warnings as <c>file:line: CSxxxx message</c> (<c>RS0030</c> for a banned call), at the blocks' Markdown lines.
    /// </summary>
    internal static async Task<List<string>> Compile(IReadOnlyList<Block> blocks)
    {
        var options = new CSharpParseOptions(LanguageVersion.Latest);
        var problems = new List<string>();
        var trees = new List<SyntaxTree> { CSharpSyntaxTree.ParseText(ImplicitUsings, options, "ImplicitUsings.cs") };
        for (var i = 0; i < blocks.Count; i++)
        {
            if (Wrap(blocks[i], i, options, problems) is { } tree)
            {
                trees.Add(tree);
            }
        }
        var compilation = CSharpCompilation.Create("DocumentedCSharp", trees, References(),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable,
                // Every block is wrapped in an async method: one without await is no mistake of its own. CS1701/CS1702
                // (TorchSharp built against an older framework) are off in every SDK build.
                specificDiagnosticOptions: [new("CS1998", ReportDiagnostic.Suppress), new("CS1701", ReportDiagnostic.Suppress),
                    new("CS1702", ReportDiagnostic.Suppress)]));
        var (analyzers, analyzerOptions) = BannedApiAnalyzer();
        // The compiler's diagnostics and the analyzer's in one pass, as the analyzer binds what the compiler has bound; on
        // one thread, as the suite runs other test classes beside this one on few cores.
        var diagnostics = await compilation.WithAnalyzers(analyzers, new CompilationWithAnalyzersOptions(analyzerOptions,
            onAnalyzerException: null, concurrentAnalysis: false, logAnalyzerExecutionTime: false)).GetAllDiagnosticsAsync();
        foreach (var d in diagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning))
        {
            var at = d.Location.GetMappedLineSpan();
            problems.Add($"{at.Path}:{at.StartLinePosition.Line + 1}: {d.Id} {d.GetMessage(System.Globalization.CultureInfo.InvariantCulture)}");
        }
        return problems;
    }

    [Fact]
    public async Task Every_documented_csharp_block_compiles_without_a_banned_call()
    {
        var blocks = DocumentedCommandsTests.DocumentFiles()
            .Where(f => f.EndsWith(".md", StringComparison.Ordinal))
            .SelectMany(f => Blocks(TestPaths.RepoRoot, f))
            .ToList();
        // A block that teaches a banned call (line 4 of its Markdown), compiled with the docs' blocks: the analyzer must name
        // it there, or a broken analyzer set-up would pass every doc block unanalysed.
        var canary = new Block("canary.md", 2, "using TorchSharp;\nusing var t = torch.zeros(2);\nvar sum = t.add(t);", 1, null);
        var problems = await Compile([.. blocks, canary]);
        var caught = problems.Where(p => p.StartsWith("canary.md:", StringComparison.Ordinal)).ToList();
        problems.RemoveAll(caught.Contains);
        Assert.True(caught is [var only] && only.StartsWith("canary.md:4: RS0030 ", StringComparison.Ordinal)
            && only.Contains("'torch.Tensor.add(torch.Tensor)' is banned", StringComparison.Ordinal),
            $"the banned call at canary.md:4 gave {caught.Count} problem(s), not one RS0030 for Tensor.add:\n" + string.Join("\n", caught));
        Assert.True(problems.Count == 0, $"{problems.Count} problem(s) in the docs' C#:\n" + string.Join("\n", problems));
        // 14 on 2026-12-05: far fewer would mean the extraction no longer finds them.
        Assert.True(blocks.Count >= 12, $"only {blocks.Count} csharp blocks found: the extraction is broken");
    }
}
