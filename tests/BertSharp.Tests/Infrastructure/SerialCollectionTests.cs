using System.Reflection;

namespace BertSharp.Tests.Infrastructure;

/// <summary>
/// <c>./test.sh</c> splits the suite by the trait <c>Isolation=Serial</c>: the classes that carry it run in a process of their
/// own, the others beside them. A class in <see cref="SerialCollection"/> without the trait would run beside tests that draw
/// from torch's generator; a class with the trait outside the collection would run in parallel with the serial ones.
/// </summary>
public sealed class SerialCollectionTests
{
    private static bool InCollection(Type t) =>
        t.GetCustomAttributesData().Any(a => a.AttributeType == typeof(CollectionAttribute) && a.ConstructorArguments is [{ Value: SerialCollection.Name }]);

    private static bool HasTrait(Type t) =>
        t.GetCustomAttributesData().Any(a => a.AttributeType == typeof(TraitAttribute)
            && a.ConstructorArguments is [{ Value: SerialCollection.TraitName }, { Value: SerialCollection.TraitValue }]);

    private static bool HasTestMethods(Type t) =>
        t.GetMethods(BindingFlags.Public | BindingFlags.Instance).Any(m => m.GetCustomAttributes<FactAttribute>(inherit: true).Any());

    [Fact]
    public void The_serial_trait_marks_exactly_the_classes_of_the_serial_collection()
    {
        var classes = typeof(SerialCollection).Assembly.GetTypes().Where(t => t.IsClass && !t.IsAbstract && HasTestMethods(t)).ToList();
        var inCollection = classes.Where(InCollection).Select(t => t.FullName!).Order().ToList();
        var withTrait = classes.Where(HasTrait).Select(t => t.FullName!).Order().ToList();
        // The suite has serial classes (a reflection mistake finding none would make the comparison vacuous).
        Assert.True(inCollection.Count >= 10, $"only {inCollection.Count} serial classes found");
        Assert.Equal(inCollection, withTrait);
        // No method-level trait puts one test of a parallel class into the serial process (or the reverse).
        var methodTraits = classes.SelectMany(t => t.GetMethods()).Where(m => m.GetCustomAttributesData().Any(a =>
            a.AttributeType == typeof(TraitAttribute) && a.ConstructorArguments is [{ Value: SerialCollection.TraitName }, _])).Select(m => m.DeclaringType!.Name + "." + m.Name);
        Assert.Empty(methodTraits);
    }

    [Fact]
    public void Test_sh_runs_the_serial_trait_in_its_own_process_and_everything_else_beside_it()
    {
        var script = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "test.sh"));
        Assert.Contains($"{SerialCollection.TraitName}={SerialCollection.TraitValue}", script, StringComparison.Ordinal);
        Assert.Contains($"{SerialCollection.TraitName}!={SerialCollection.TraitValue}", script, StringComparison.Ordinal);
        Assert.Contains($"{SerialCollection.SharedCpuVariable}=1", script, StringComparison.Ordinal);
    }
}
