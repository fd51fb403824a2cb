using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Packaging;

/// <summary>
/// docs/packaging.md's package table names each package's dependencies; <see cref="PackageConsumerTests"/> holds the packed
/// nuspecs to the same list, so the table and the packages cannot drift apart (BertSharp's System.IO.Hashing was missing).
/// Reads the document only: no pack run.
/// </summary>
public sealed class PackagingDocsTests
{
    [Fact]
    public void The_dependency_table_lists_what_each_nuspec_lists()
    {
        var rows = File.ReadLines(Path.Combine(TestPaths.RepoRoot, "docs", "packaging.md"))
            .Where(l => l.StartsWith("| `BertSharp", StringComparison.Ordinal))
            .Select(l => l.Split('|', StringSplitOptions.TrimEntries))
            .ToDictionary(cells => cells[1].Trim('`'), cells => cells[3]);
        foreach (var row in PackageConsumerTests.ExpectedDependencies)
        {
            var (id, dependencies) = ((string)row[0], (string[])row[1]);
            Assert.True(rows.TryGetValue(id, out var cell), $"docs/packaging.md has no row for {id}");
            var documented = System.Text.RegularExpressions.Regex.Matches(cell, "`([^`]+)`").Select(m => m.Groups[1].Value).Order(StringComparer.Ordinal);
            Assert.Equal(dependencies, documented);
        }
    }
}
