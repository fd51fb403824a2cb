namespace BertSharp.Tests.Infrastructure;

/// <summary>
/// Checks on the one-line errors users read. A line that wraps an inner failure tends to name its path at every layer
/// (<c>--output X: X/checkpoint-4 cannot be written (X/checkpoint-4/model.safetensors: ...)</c>); each path is to appear once.
/// </summary>
public static class ErrorLines
{
    // What surrounds a path in a message: quotes, brackets, and the punctuation that ends a clause.
    private static readonly char[] Around = ['(', ')', '[', ']', '\'', '"', '`', ',', ';', ':', '.'];

    /// <summary>
    /// The paths of <paramref name="line"/>: its whitespace-separated words that hold a '/' and are longer than 3 characters
    /// (what surrounds them trimmed, and <c>/./</c> read as <c>/</c>: <c>runs/./x</c> is <c>runs/x</c>), in order. A value in double
    /// quotes is a setting's value shown for comparison (<c>--model was "/a" and is "/b" now</c>), which may lie in any other path.
    /// </summary>
    public static IReadOnlyList<string> Paths(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        return [.. line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)
            .Where(w => !w.TrimStart('(', '[').StartsWith('"'))
            .Select(w => w.Trim(Around).Replace("/./", "/", StringComparison.Ordinal).TrimEnd('/'))
            .Where(w => w.Length > 3 && w.Contains('/', StringComparison.Ordinal))];
    }

    /// <summary>
    /// The first path of <paramref name="line"/> named again: by the same path, or inside a longer one (<c>X</c>, then
    /// <c>X/checkpoint-4</c>, or the other way round); null when each path appears once.
    /// </summary>
    public static string? RepeatedPath(string line)
    {
        var paths = Paths(line);
        for (var i = 0; i < paths.Count; i++)
        {
            for (var j = i + 1; j < paths.Count; j++)
            {
                var (a, b) = (paths[i], paths[j]);
                if (a == b || b.StartsWith(a + "/", StringComparison.Ordinal) || a.StartsWith(b + "/", StringComparison.Ordinal))
                {
                    return a.Length <= b.Length ? a : b;
                }
            }
        }
        return null;
    }

    /// <summary>Fails when <paramref name="line"/> names a path more than once (<see cref="RepeatedPath"/>).</summary>
    public static void AssertNamesEachPathOnce(string line)
    {
        if (RepeatedPath(line) is { } path)
        {
            Assert.Fail($"the error line names {path} more than once: {line}");
        }
    }
}
