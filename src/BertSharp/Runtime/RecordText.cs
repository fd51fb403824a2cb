using System.Collections;
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

    /// <summary>
    /// A member that is no list as the record's own <c>ToString</c> would show it (empty for null), but in the invariant
    /// culture: a nested record, a tuple or a dictionary formats its numbers by the current culture.
    /// </summary>
    public static string Value<T>(T value) => value is null ? "" : Item(value);

    // Invariant, as the rest of BertSharp's output: a German locale would print 0,5 between the commas. An item that is a
    // list itself (a row of logits, a sentence's tags) would print as its type name.
    private static string Item<T>(T item) => item switch
    {
        null => "null",
        string s => s,
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        IEnumerable e => List(e.Cast<object?>().ToList()),
        _ => InInvariantCulture(item),
    };

    // A record's, a tuple's or a KeyValuePair's ToString takes no culture: their numbers follow the thread's current one.
    private static string InInvariantCulture(object item)
    {
        var culture = CultureInfo.CurrentCulture;
        try
        {
            CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
            return item.ToString() ?? "";
        }
        finally
        {
            CultureInfo.CurrentCulture = culture;
        }
    }
}
