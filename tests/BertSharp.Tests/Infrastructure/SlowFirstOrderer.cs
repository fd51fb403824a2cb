using Xunit.Abstractions;

namespace BertSharp.Tests.Infrastructure;

/// <summary>
/// Starts the collections holding slow tests (<c>[Trait("Category", "Slow")]</c> on the method, or on the class, which makes
/// every test of it slow) first, so that the long ones overlap with the many short ones instead of running alone at the end
/// of the parallel phase (longest jobs first). The serial collection runs after all of them whatever its place here.
/// </summary>
public sealed class SlowFirstOrderer : ITestCollectionOrderer
{
    public const string Category = "Category";
    public const string Slow = "Slow";

    public IEnumerable<ITestCollection> OrderTestCollections(IEnumerable<ITestCollection> testCollections) =>
        testCollections.OrderByDescending(SlowTests).ThenBy(c => c.DisplayName, StringComparer.Ordinal);

    private static int SlowTests(ITestCollection collection)
    {
        // One collection per class: its display name ends with the class's full name.
        var name = collection.DisplayName;
        var type = typeof(SlowFirstOrderer).Assembly.GetType(name[(name.LastIndexOf(' ') + 1)..]);
        if (type is null)
        {
            return 0;
        }
        // A class-level trait (the packaging tests: their class fixture packs and builds for many seconds before the first
        // test) makes all of the class's tests slow; counting only method traits started those classes last.
        var tests = type.GetMethods().Where(m => m.CustomAttributes.Any(a => typeof(FactAttribute).IsAssignableFrom(a.AttributeType))).ToList();
        return IsSlow(type) ? tests.Count : tests.Count(IsSlow);
    }

    private static bool IsSlow(System.Reflection.MemberInfo member) =>
        member.CustomAttributes.Any(a => a.AttributeType == typeof(TraitAttribute) && a.ConstructorArguments is [{ Value: Category }, { Value: Slow }]);
}
