using BertSharp.Checkpoints;
using BertSharp.Runtime;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Checkpoints;

/// <summary>The torch &lt; 1.6 format; dtypes-legacy.bin holds the same tensors as dtypes.bin (both from make_dtypes.py).</summary>
public class LegacyTorchFormatTests
{
    public LegacyTorchFormatTests() => TorchRuntime.EnsureLoaded();

    private static string Legacy => CheckpointFixtures.File("dtypes-legacy.bin");

    [Fact]
    public void Legacy_file_loads_the_same_tensors_as_the_zip_format()
    {
        var legacy = PyTorchBinReader.Read(Legacy);
        var zip = PyTorchBinReader.Read(CheckpointFixtures.File("dtypes.bin"));
        Assert.Equal(zip.Keys, legacy.Keys);
        foreach (var (k, t) in zip)
        {
            TensorAssert.Identical(t, legacy[k], k);
        }
        legacy["matrix"][0, 0] = TorchSharp.torch.tensor(9f); // views of one storage share memory
        Assert.Equal(9f, legacy["matrix_t"][0, 0].item<float>());
        SafeTensors.DisposeAll(legacy);
        SafeTensors.DisposeAll(zip);
    }

    [Fact]
    public void Legacy_file_with_a_payload_in_the_state_dict_pickle_is_refused()
    {
        var bytes = File.ReadAllBytes(Legacy);
        // Replace the first tensor-rebuild global with os.system: same pickle, hostile callable.
        var needle = "ctorch._utils\n_rebuild_tensor_v2\n"u8.ToArray();
        int at = bytes.AsSpan().IndexOf(needle);
        Assert.True(at > 0);
        var evil = "cos\nsystem\n"u8.ToArray();
        byte[] patched = [.. bytes[..at], .. evil, .. bytes[(at + needle.Length)..]];
        using var tmp = TestPaths.TempDir();
        File.WriteAllBytes(tmp.File("evil.bin"), patched);
        var e = Assert.Throws<BertSharpException>(() => PyTorchBinReader.Read(tmp.File("evil.bin")));
        Assert.Contains("global 'os.system' is not allowed", e.Message);
        Assert.Contains("legacy torch format", e.Message);
    }

    [Fact]
    public void Legacy_file_truncated_anywhere_or_flipped_only_raises_BertSharpException()
    {
        var full = File.ReadAllBytes(Legacy);
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("cut.bin");
        for (int cut = 0; cut < full.Length; cut++)
        {
            File.WriteAllBytes(path, full[..cut]);
            Assert.Throws<BertSharpException>(() => PyTorchBinReader.Read(path));
        }
        var rng = new Random(11);
        for (int trial = 0; trial < 300; trial++)
        {
            var b = (byte[])full.Clone();
            b[rng.Next(b.Length)] ^= (byte)(1 << rng.Next(8));
            File.WriteAllBytes(path, b);
            try
            {
                SafeTensors.DisposeAll(PyTorchBinReader.Read(path));
            }
            catch (BertSharpException)
            {
            }
        }
    }

    [Fact]
    public void Legacy_file_loads_through_StateDictSource()
    {
        using var tmp = TestPaths.TempDir();
        File.Copy(Legacy, tmp.File("pytorch_model.bin"));
        var sd = StateDictSource.Load(tmp.Path);
        Assert.Equal(new[] { 4f, 5f }, sd["tail"].data<float>().ToArray());
        SafeTensors.DisposeAll(sd);
    }
}
