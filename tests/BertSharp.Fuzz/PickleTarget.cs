using System.IO.Compression;
using BertSharp.Checkpoints;
using BertSharp.Checkpoints.PyTorchBin;

namespace BertSharp.Fuzz;

/// <summary>
/// The restricted unpickler and the <c>.bin</c> reader. Inputs starting with 'P' are pickles: unpickled, turned into a
/// state dict, checked (views inside storages) and — when they get that far — packed into a torch zip with storages of the
/// declared sizes and loaded for real, so libtorch builds the strided views. Inputs starting with 'F' are whole files
/// (zip or legacy format, from the fixtures): written out and read header-only and fully.
/// </summary>
public sealed class PickleTarget : FuzzTarget
{
    public PickleTarget()
    {
        var dir = Path.Combine(Repo.Fixtures, "checkpoints");
        var seeds = new List<byte[]>();
        foreach (var bin in new[] { Path.Combine(dir, "dtypes.bin"), Path.Combine(Repo.Fixtures, "hf_bert", "pretraining", "pytorch_model.bin") })
        {
            using var zip = ZipFile.OpenRead(bin);
            var pkl = zip.Entries.Single(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal));
            using var s = pkl.Open();
            using var ms = new MemoryStream();
            s.CopyTo(ms);
            seeds.Add([(byte)'P', .. ms.ToArray()]);
        }
        foreach (var file in new[] { "dtypes.bin", "dtypes-legacy.bin" }.Select(f => Path.Combine(dir, f))
                     .Concat(Directory.GetFiles(Path.Combine(dir, "malicious"), "*.bin")))
        {
            seeds.Add([(byte)'F', .. File.ReadAllBytes(file)]);
        }
        Seeds = seeds;
    }

    public override string Name => "pickle";

    /// <summary>A third of the inputs are freshly generated state dicts with hostile views, sometimes mutated further.</summary>
    public override byte[] Next(Mutator m)
    {
        if (m.Random.Next(3) != 0)
        {
            return base.Next(m);
        }
        byte[] pickle = [(byte)'P', .. PickleWriter.Random(m.Random)];
        return m.Random.Next(3) == 0 ? m.Mutate(pickle, Seeds) : pickle;
    }

    public override IReadOnlyList<byte[]> Seeds { get; }

    public override void Run(byte[] input)
    {
        if (input.Length == 0)
        {
            return;
        }
        var body = input.AsSpan(1).ToArray();
        if (input[0] == (byte)'F')
        {
            var path = Path.Combine(Repo.Scratch, "fuzz.bin");
            File.WriteAllBytes(path, body);
            PyTorchBinReader.ReadHeader(path);
            SafeTensors.DisposeAll(PyTorchBinReader.Read(path));
            return;
        }
        var unpickler = new RestrictedUnpickler("fuzz.pkl", body);
        var refs = PyTorchBinReader.ToStateDict("fuzz.pkl", unpickler.Load());
        PyTorchBinReader.Describe("fuzz.pkl", refs);
        // Within the header checks: build the archive the pickle describes and load it, views and all.
        long total = unpickler.Storages.Values.Sum(s => Math.Min(s.ElementCount, 1L << 20) * SafeTensorsDType.FromScalarType(s.DType)!.Size);
        if (total > 16L << 20 || unpickler.Storages.Values.Any(s => s.ElementCount > 1L << 20))
        {
            return;
        }
        var file = Path.Combine(Repo.Scratch, "fuzz-pickle.bin");
        File.Delete(file);
        using (var zip = ZipFile.Open(file, ZipArchiveMode.Create))
        {
            using (var w = zip.CreateEntry("archive/data.pkl", CompressionLevel.NoCompression).Open())
            {
                w.Write(body);
            }
            foreach (var s in unpickler.Storages.Values)
            {
                using var w = zip.CreateEntry("archive/data/" + s.Key, CompressionLevel.NoCompression).Open();
                w.Write(new byte[s.ElementCount * SafeTensorsDType.FromScalarType(s.DType)!.Size]);
            }
        }
        SafeTensors.DisposeAll(PyTorchBinReader.Read(file));
    }
}
