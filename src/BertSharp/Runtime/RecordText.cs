using System.Globalization;

namespace BertSharp.Runtime;

/// <summary>
/// List members as a result record's <c>ToString</c> shows them: a record prints a list as its type name
/// (<c>System.Collections.Generic.List`1[System.Double]</c>), which tells the user nothing.
/// </summary>
internal static class RecordText
{
    // Up to this many items are shown whole; a run's thousands of step losses would drown the rest of the line.
    private const int Whole = 8;
    private const int Ends = 3;

    /// <summary><c>[a, b, c]</c>, or for a long list its first and last items and its count: <c>[a, b, c, …, x, y, z] (1000 items)</c>.</summary>
    public static string List<T>(IReadOnlyList<T>? items)
    {
        if (items is null)
        {
            return "null";
        }
        IEnumerable<string> shown = items.Count <= Whole
            ? items.Select(Item)
            : [.. items.Take(Ends).Select(Item), "…", .. items.Skip(items.Count - Ends).Select(Item)];
        var text = "[" + string.Join(", ", shown) + "]";
        return items.Count <= Whole ? text : text + Invariant($" ({items.Count} items)");
    }

    // Invariant, as the rest of BertSharp's output: a German locale would print 0,5 between the commas.
    private static string Item<T>(T item) => Convert.ToString(item, CultureInfo.InvariantCulture) ?? "null";
}
