using System.Globalization;

namespace BertSharp.Data;

/// <summary>
/// The one rule for class names that must tell the classes apart: every class named (not null, empty or white space only)
/// and no name given to two classes. Token classification needs it (seqeval reads the entities from the tag names, and a
/// prediction names its class by its tag), and so does a classifier imported from ONNX (its names are written into
/// config.json as given). Reading a config applies only its second half (HF allows empty names, but a sequence
/// classifier's label2id cannot tell two classes of one name apart).
/// </summary>
internal static class ClassNames
{
    /// <summary>The first class in id order that breaks the rule, or null when each class has a name of its own.</summary>
    /// <param name="names">The class names in id order.</param>
    /// <param name="unnamedAllowed">
    /// Whether an empty or white-space name passes (a config read, as HF allows it); null still does not, and no name twice.
    /// </param>
    public static ClassNameFault? Fault(IReadOnlyList<string?> names, bool unnamedAllowed = false)
    {
        ArgumentNullException.ThrowIfNull(names);
        var first = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < names.Count; i++)
        {
            var name = names[i];
            if (name is null || (!unnamedAllowed && Unnamed(name) is not null))
            {
                return new ClassNameFault($"the name of class \"{Id(i)}\" is {Unnamed(name)}", Repeated: false);
            }
            if (!first.TryAdd(name, i))
            {
                return new ClassNameFault($"classes \"{Id(first[name])}\" and \"{Id(i)}\" are both named \"{name}\"", Repeated: true);
            }
        }
        return null;
    }

    /// <summary>
    /// Why <paramref name="name"/> names no class (<c>null</c>, <c>empty</c> or <c>white space only</c>), or null when it
    /// does: the rule for one name, for a name met alone (a tag in the data).
    /// </summary>
    /// <remarks>null is a missing entry (a library caller's list), not an empty name, and is said so.</remarks>
    public static string? Unnamed(string? name) =>
        name is null ? "null" : name.Length == 0 ? "empty" : string.IsNullOrWhiteSpace(name) ? "white space only" : null;

    private static string Id(int i) => i.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// How a list of class names breaks <see cref="ClassNames"/>' rule, said without where the names come from or what was
/// expected, which each caller says in its own terms (a tag list, an import's names).
/// </summary>
/// <param name="What">The class and what is wrong with its name: <c>the name of class "2" is empty</c>, <c>classes "0" and "2" are both named "O"</c>.</param>
/// <param name="Repeated">True for a name given to two classes; false for a class without a name.</param>
internal sealed record ClassNameFault(string What, bool Repeated);
