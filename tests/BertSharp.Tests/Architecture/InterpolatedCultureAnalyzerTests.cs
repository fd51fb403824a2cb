using System.Collections.Immutable;
using System.Reflection;
using BertSharp.Analyzers;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

namespace BertSharp.Tests.Architecture;

/// <summary>
/// BSA0001 (build/analyzers/BertSharp.Analyzers), which the library packages' builds run: a number, date or time span in an
/// interpolated string formatted in the current culture fails the build; the same string formatted with a provider, and
/// holes whose text no culture changes, pass. The cases are compiled in memory, each line marked with what must happen.
/// </summary>
public class InterpolatedCultureAnalyzerTests
{
    // "// flag": BSA0001 on that line, once per hole named after it; "// ok": nothing.
    private const string Cases = """
        using System;
        using System.Globalization;
        using System.Text;

        static class Cases
        {
            enum Kind { A }

            static void M<T, TNumber, TEnum>(int n, double d, long? maybe, decimal m, DateTime when, TimeSpan span, Kind kind,
                char c, string s, bool b, Guid g, Uri url, object o, T any, TNumber number, TEnum someKind, StringBuilder sb)
                where TNumber : IFormattable where TEnum : struct, Enum
            {
                _ = $"got {-1}"; // flag -1
                _ = $"{0.5}"; // flag 0.5
                _ = $"{n} of {s}"; // flag n
                _ = $"{maybe}"; // flag maybe
                _ = $"{m:F2}"; // flag m
                _ = $"{when} {span}"; // flag when span
                _ = $"{number}"; // flag number
                _ = $"{n:N0}"; // flag n
                _ = "sum " + $"{d}"; // flag d
                sb.Append($"{d}"); // flag d
                _ = string.Create(CultureInfo.InvariantCulture, $"{(n > 0 ? $"{n}" : "")}"); // flag n
                _ = string.Create(CultureInfo.InvariantCulture, $"got {-1} {0.5} {m:F2} {when}"); // ok
                _ = string.Create(CultureInfo.InvariantCulture, $"{n}" + $"{d}"); // ok
                _ = FormattableString.Invariant($"{d}"); // ok
                FormattableString later = $"{d}"; // ok
                sb.Append(CultureInfo.InvariantCulture, $"{d}"); // ok
                _ = $"{s} {c} {b} {kind} {someKind} {g} {url} {o} {any} {"text"}"; // ok
                _ = $"{n.ToString(CultureInfo.InvariantCulture)}"; // ok
                _ = $"{n:X8} {when:O} {when:u} {span:c}"; // ok
            }
        }
        """;

    [Fact]
    public async Task Flags_culture_sensitive_holes_of_strings_formatted_without_a_provider_only()
    {
        var framework = typeof(InterpolatedCultureAnalyzerTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "FrameworkReferenceDir").Value!;
        var compilation = CSharpCompilation.Create("Cases",
            [CSharpSyntaxTree.ParseText(Cases, new CSharpParseOptions(LanguageVersion.Latest), "Cases.cs")],
            [MetadataReference.CreateFromFile(Path.Combine(framework, "System.Runtime.dll"))],
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        var diagnostics = await compilation.WithAnalyzers([new InterpolatedCultureAnalyzer()],
            new CompilationWithAnalyzersOptions(new AnalyzerOptions([]), onAnalyzerException: null, concurrentAnalysis: false,
                logAnalyzerExecutionTime: false)).GetAllDiagnosticsAsync();
        Assert.Empty(diagnostics.Where(d => d.Id != InterpolatedCultureAnalyzer.DiagnosticId && d.Severity >= DiagnosticSeverity.Warning));

        var lines = Cases.Split('\n');
        var flagged = diagnostics.Where(d => d.Id == InterpolatedCultureAnalyzer.DiagnosticId).OrderBy(d => d.Location.SourceSpan.Start).ToList();
        var found = flagged.Select(d => $"{d.Location.GetLineSpan().StartLinePosition.Line + 1}: {d.GetMessage(System.Globalization.CultureInfo.InvariantCulture).Split('\'')[1]}")
            .ToList();
        var expected = lines.Select((line, i) => (line, i))
            .Where(l => l.line.Contains("// flag ", StringComparison.Ordinal))
            .SelectMany(l => l.line[(l.line.IndexOf("// flag ", StringComparison.Ordinal) + 8)..].Split(' ').Select(hole => $"{l.i + 1}: {hole}"))
            .ToList();
        Assert.True(lines.Count(l => l.Contains("// ok", StringComparison.Ordinal)) == 8, "the ok cases are not all marked");
        Assert.Equal(expected, found);

        var first = flagged[0];
        Assert.Equal((DiagnosticSeverity.Error, "'-1' (int) in this interpolated string is formatted in the current culture; write "
                + "Invariant($\"...\") (build/Packaging.targets)"),
            (first.Severity, first.GetMessage(System.Globalization.CultureInfo.InvariantCulture)));
    }
}
