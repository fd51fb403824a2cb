using System.Reflection;
using BertSharp.Inference;

namespace BertSharp.Tests.Architecture;

/// <summary>
/// Helpers of one layer's implementation stay out of its public API (docs/packaging.md): once public, every signature change
/// breaks callers the layer never meant to have.
/// </summary>
public class ApiSurfaceTests
{
    [Theory]
    [InlineData(typeof(OnnxBertSession), nameof(OnnxBertSession.Collate))]
    [InlineData(typeof(OnnxBertSession), nameof(OnnxBertSession.Row))]
    [InlineData(typeof(InferencePipeline<>), "LoadChecked")]
    [InlineData(typeof(InferencePipeline<>), "LoadRequiring")]
    public void Batch_padding_and_loader_plumbing_are_not_visible_outside_their_assembly(Type type, string name)
    {
        var method = Assert.Single(type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static), m => m.Name == name);
        // public, protected and protected internal reach other assemblies; internal and private protected do not.
        Assert.False(method.IsPublic || method.IsFamily || method.IsFamilyOrAssembly, $"{type.Name}.{name} is visible outside {type.Assembly.GetName().Name}");
    }
}
