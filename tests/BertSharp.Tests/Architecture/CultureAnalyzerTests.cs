using System.Collections.Immutable;
using System.Globalization;
using System.Reflection;
using BertSharp.Analyzers;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

namespace BertSharp.Tests.Architecture;

/// <summary>
/// BSA0001 and BSA0002 (build/analyzers/BertSharp.Analyzers), which the library packages' builds run: a number, date or
/// time span in an interpolated string formatted in the current culture, or joined to a string by +, string.Concat,
/// string.Join, StringBuilder.Append or TextWriter.Write (Console's too), fails the build; the same string formatted
/// with a provider, and values whose text no culture changes, pass. The cases are compiled in memory, each line marked
/// with what must happen.
/// </summary>
public class CultureAnalyzerTests
{
    // "// flag": BSA0001 on that line, once per hole named after it; "// joined": BSA0002, once per value named after it;
    // "// ok": nothing.
    private const string Cases = """
        using System;
        using System.Globalization;
        using System.IO;
        using System.Text;

        static class Cases
        {
            enum Kind { A }

            static void M<T, TNumber, TEnum>(int n, double d, long? maybe, decimal m, DateTime when, TimeSpan span, Kind kind,
                char c, string s, bool b, Guid g, Uri url, object o, T any, TNumber number, TEnum someKind, StringBuilder sb,
                long[] shape, TextWriter w)
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
                _ = "got " + n; // joined n
                _ = n + " of " + d; // joined n d
                s += maybe; // joined maybe
                _ = "at " + when + span + number; // joined when span number
                _ = string.Concat(m, s); // joined m
                _ = string.Join(", ", shape) + string.Join(", ", n, d, s, m); // joined shape n d m
                sb.Append(d).Append(m).Insert(0, n).AppendJoin(',', shape); // joined d m n shape
                w.Write(d); // joined d
                w.WriteLine("{0} {1}", s, n); // joined n
                Console.Write(m); // joined m
                _ = "got " + n.ToString(CultureInfo.InvariantCulture) + s + c + b + kind + g + url + o + FormattableString.Invariant($"{d}"); // ok
                s += c; // ok
                _ = n + 1 + 'c'; // ok
                d += 2; // ok
                _ = string.Join(',', s, s) + string.Concat(s, c); // ok
                sb.Append(s, 0, n).Append(c, n).Append(b).Insert(n, s); // ok
                w.Write(new char[1], 0, n); // ok
            }
        }
        """;

    [Fact]
    public async Task Flags_culture_sensitive_values_made_text_without_a_provider_only()
    {
        var framework = typeof(CultureAnalyzerTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "FrameworkReferenceDir").Value!;
        var compilation = CSharpCompilation.Create("Cases",
            [CSharpSyntaxTree.ParseText(Cases, new CSharpParseOptions(LanguageVersion.Latest), "Cases.cs")],
            [MetadataReference.CreateFromFile(Path.Combine(framework, "System.Runtime.dll")),
                MetadataReference.CreateFromFile(Path.Combine(framework, "System.Console.dll"))],
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        var diagnostics = await compilation.WithAnalyzers([new InterpolatedCultureAnalyzer(), new JoinedCultureAnalyzer()],
            new CompilationWithAnalyzersOptions(new AnalyzerOptions([]), onAnalyzerException: null, concurrentAnalysis: false,
                logAnalyzerExecutionTime: false)).GetAllDiagnosticsAsync();
        string[] ours = [InterpolatedCultureAnalyzer.DiagnosticId, JoinedCultureAnalyzer.DiagnosticId];
        Assert.Empty(diagnostics.Where(d => !ours.Contains(d.Id) && d.Severity >= DiagnosticSeverity.Warning));

        var lines = Cases.Split('\n');
        var flagged = diagnostics.Where(d => ours.Contains(d.Id)).OrderBy(d => d.Location.SourceSpan.Start).ToList();
        var found = flagged.Select(d => $"{d.Location.GetLineSpan().StartLinePosition.Line + 1}: {d.Id} {d.GetMessage(CultureInfo.InvariantCulture).Split('\'')[1]}")
            .ToList();
        var expected = lines.SelectMany((line, i) => Marked(line, "// flag ", InterpolatedCultureAnalyzer.DiagnosticId)
                .Concat(Marked(line, "// joined ", JoinedCultureAnalyzer.DiagnosticId)).Select(value => $"{i + 1}: {value}"))
            .ToList();
        Assert.True(lines.Count(l => l.Contains("// ok", StringComparison.Ordinal)) == 15, "the ok cases are not all marked");
        Assert.Equal(expected, found);

        Assert.Equal((DiagnosticSeverity.Error, "'-1' (int) in this interpolated string is formatted in the current culture; write "
                + "Invariant($\"...\") (build/Packaging.targets)"),
            (flagged[0].Severity, flagged[0].GetMessage(CultureInfo.InvariantCulture)));
        var joined = flagged.First(d => d.Id == JoinedCultureAnalyzer.DiagnosticId);
        Assert.Equal((DiagnosticSeverity.Error, "'n' (int) is made text in the current culture here; format it with "
                + "CultureInfo.InvariantCulture, as Invariant($\"...\") (build/Packaging.targets)"),
            (joined.Severity, joined.GetMessage(CultureInfo.InvariantCulture)));
    }

    private static IEnumerable<string> Marked(string line, string marker, string id)
    {
        var at = line.IndexOf(marker, StringComparison.Ordinal);
        return at < 0 ? [] : line[(at + marker.Length)..].Split(' ').Select(value => $"{id} {value}");
    }
}
