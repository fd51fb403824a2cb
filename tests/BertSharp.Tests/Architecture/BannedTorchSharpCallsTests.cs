using System.Diagnostics;
using System.Reflection;
using System.Text.RegularExpressions;
using BertSharp.Tests.Infrastructure;
using TorchSharp;

namespace BertSharp.Tests.Architecture;

/// <summary>
/// TorchSharp 0.107 calls that make a Scalar it does not keep alive during the native call (an implicit number → Scalar
/// conversion, <c>Tensor.add</c>'s alpha = 1, an operator with a number operand, <c>arange(stop)</c>'s start and step,
/// <c>vector_norm</c>'s ord) fail the build of every project (Microsoft.CodeAnalysis.BannedApiAnalyzers with
/// build/BannedSymbols.txt, wired in Directory.Build.props): a garbage collection on another thread can free such a Scalar
/// while libtorch reads it (tests/README.md, "A test host that crashes"). tests/BannedApiProbe is a project outside the
/// solution that holds one case per line; building it with the repository's settings must refuse exactly its "banned"
/// lines.
/// </summary>
public sealed partial class BannedTorchSharpCallsTests
{
    private static readonly string ProbeDir = Path.Combine(TestPaths.RepoRoot, "tests", "BannedApiProbe");

    private static readonly Lazy<(int Exit, string Output, Dictionary<int, string> Flagged)> Build = new(BuildProbe);

    /// <summary>Probe.cs's cases: line number, "banned" or "allowed", and the statement.</summary>
    public static TheoryData<int, string, string> Cases()
    {
        var data = new TheoryData<int, string, string>();
        var lines = File.ReadAllLines(Path.Combine(ProbeDir, "Probe.cs"));
        for (var i = 0; i < lines.Length; i++)
        {
            var m = CaseLine().Match(lines[i]);
            if (m.Success)
            {
                data.Add(i + 1, m.Groups["kind"].Value, m.Groups["code"].Value.Trim());
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_build_refuses_banned_calls_and_accepts_the_safe_forms(int line, string kind, string code)
    {
        var (exit, output, flagged) = Build.Value;
        Assert.True(exit != 0, "the probe built although it holds banned calls:\n" + output);
        if (kind == "banned")
        {
            Assert.True(flagged.ContainsKey(line), $"Probe.cs:{line} `{code}` was not refused (RS0030)");
        }
        else
        {
            Assert.False(flagged.ContainsKey(line), $"Probe.cs:{line} `{code}` was refused: {flagged.GetValueOrDefault(line)}");
        }
    }

    [Fact]
    public void The_probe_fails_for_banned_calls_only()
    {
        var (_, output, flagged) = Build.Value;
        var cases = Cases().Select(c => (int)c[0]).ToHashSet();
        Assert.True(Cases().Count(c => (string)c[1] == "banned") >= 20, "Probe.cs lost its cases");
        // Every RS0030 is on a case line, and the build has no other errors (a probe that fails for another reason proves nothing).
        Assert.All(flagged.Keys, line => Assert.Contains(line, cases));
        var otherErrors = output.Split('\n').Where(l => l.Contains(": error ", StringComparison.Ordinal) && !l.Contains("RS0030", StringComparison.Ordinal)).ToList();
        Assert.True(otherErrors.Count == 0, string.Join("\n", otherErrors));
    }

    [Fact]
    public void Every_implicit_scalar_conversion_of_TorchSharp_is_banned_and_every_entry_names_a_TorchSharp_member()
    {
        var entries = File.ReadAllLines(Path.Combine(TestPaths.RepoRoot, "build", "BannedSymbols.txt"))
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split(';')[0])
            .ToList();
        Assert.Equal(entries.Count, entries.Distinct(StringComparer.Ordinal).Count());
        var torchSharp = typeof(Scalar).Assembly;
        var members = torchSharp.GetExportedTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly))
            .Select(DocumentationId)
            .ToHashSet(StringComparer.Ordinal);
        // An entry that names nothing bans nothing (a TorchSharp upgrade that changes a signature, or a typo).
        Assert.All(entries, e => Assert.True(members.Contains(e), $"build/BannedSymbols.txt: {e} names no public TorchSharp method"));
        var conversions = typeof(Scalar).GetMethods(BindingFlags.Public | BindingFlags.Static)
            .Where(m => m.Name == "op_Implicit" && m.ReturnType == typeof(Scalar))
            .Select(DocumentationId)
            .ToList();
        Assert.True(conversions.Count >= 10, $"only {conversions.Count} implicit conversions to Scalar found");
        Assert.All(conversions, c => Assert.Contains(c, entries));
    }

    /// <summary>The C# documentation-comment ID of a method (what BannedSymbols.txt names), e.g. <c>M:N.T.M(System.Int32)</c>.</summary>
    private static string DocumentationId(MethodInfo m)
    {
        var parameters = m.GetParameters();
        // A generic method's ID carries its arity (M:N.T.M``1(``0)); without it an entry would name a method but ban nothing.
        var id = $"M:{TypeId(m.DeclaringType!)}.{m.Name}" + (m.IsGenericMethodDefinition ? "``" + m.GetGenericArguments().Length : "");
        if (parameters.Length > 0)
        {
            id += "(" + string.Join(",", parameters.Select(p => TypeId(p.ParameterType))) + ")";
        }
        return m.Name is "op_Implicit" or "op_Explicit" ? id + "~" + TypeId(m.ReturnType) : id;
    }

    private static string TypeId(Type t)
    {
        if (t.IsByRef)
        {
            return TypeId(t.GetElementType()!) + "@";
        }
        if (t.IsArray)
        {
            return TypeId(t.GetElementType()!) + "[]";
        }
        if (t.IsGenericParameter)
        {
            return (t.DeclaringMethod is null ? "`" : "``") + t.GenericParameterPosition;
        }
        var name = t.IsNested ? TypeId(t.DeclaringType!) + "." + t.Name : t.Namespace + "." + t.Name;
        if (t.IsGenericType)
        {
            name = name[..name.IndexOf('`', StringComparison.Ordinal)];
            name += "{" + string.Join(",", t.GetGenericArguments().Select(TypeId)) + "}";
        }
        return name;
    }

    private static (int, string, Dictionary<int, string>) BuildProbe()
    {
        // The repository's settings as every project gets them (Directory.Build.props); offline, from the packages the
        // solution's restore put in the machine's NuGet folder; errors only, one line each.
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = ProbeDir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "build", "BannedApiProbe.csproj", "-c", "Release", "-nologo", "-nodeReuse:false", "-clp:ErrorsOnly;NoSummary" })
        {
            psi.ArgumentList.Add(a);
        }
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            psi.Environment.Remove(key);
        }
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd() + stderr.Result;
        p.WaitForExit();
        var flagged = new Dictionary<int, string>();
        foreach (Match m in Diagnostic().Matches(output))
        {
            flagged.TryAdd(int.Parse(m.Groups["line"].Value, System.Globalization.CultureInfo.InvariantCulture), m.Groups["symbol"].Value);
        }
        return (p.ExitCode, output, flagged);
    }

    [GeneratedRegex(@"^\s*(?<code>.*;)\s*// (?<kind>banned|allowed):")]
    private static partial Regex CaseLine();

    [GeneratedRegex(@"Probe\.cs\((?<line>\d+),\d+\): error RS0030: The symbol '(?<symbol>[^']*)'")]
    private static partial Regex Diagnostic();
}
