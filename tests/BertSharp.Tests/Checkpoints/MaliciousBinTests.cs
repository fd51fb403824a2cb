using System.IO.Compression;
using System.Text;
using BertSharp.Checkpoints;
using BertSharp.Checkpoints.PyTorchBin;
using BertSharp.Runtime;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Checkpoints;

/// <summary>
/// The files under tests/fixtures/checkpoints/malicious are made by make_malicious.py; `--prove` shows that Python's own
/// pickle runs each payload (it creates /tmp/bertsharp-pwned-NAME). Here they must be refused and nothing may run.
/// </summary>
public class MaliciousBinTests
{
    public MaliciousBinTests() => TorchRuntime.EnsureLoaded();

    private static string Bin(string name) => CheckpointFixtures.File(Path.Combine("malicious", name + ".bin"));

    [Theory]
    [InlineData("os_system", "global 'os.system' is not allowed")]
    [InlineData("posix_system", "global 'posix.system' is not allowed")]
    [InlineData("builtins_eval", "global 'builtins.eval' is not allowed")]
    [InlineData("builtins_exec", "global 'builtins.exec' is not allowed")]
    [InlineData("subprocess_popen", "global 'subprocess.Popen' is not allowed")]
    [InlineData("unexpected_class", "global '__main__.Evil' is not allowed")]
    [InlineData("build_on_tensor", "BUILD on a tensor")]
    [InlineData("storage_call", "'torch.FloatStorage' may only appear in a storage reference")]
    public void Malicious_pickles_are_refused_by_name_and_nothing_runs(string name, string expected)
    {
        var sentinel = "/tmp/bertsharp-pwned-" + name;
        File.Delete(sentinel);
        var path = Bin(name);
        var e = Assert.Throws<BertSharpException>(() => PyTorchBinReader.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("refused to load", e.Message);
        Assert.Contains(expected, e.Message);
        // Every rebuild function the loader takes, written out: the refusal tells the user what a state dict may hold.
        Assert.Contains("; a state dict needs only collections.OrderedDict, torch._utils._rebuild_tensor_v2 / _rebuild_tensor / " +
            "_rebuild_parameter / _rebuild_parameter_with_state and torch.*Storage. Nothing from the checkpoint was executed.", e.Message);
        Thread.Sleep(200); // a spawned process would have had time to create it
        Assert.False(File.Exists(sentinel), sentinel + " exists: the payload ran");
    }

    // Hand-made pickles (Latin-1 strings of opcodes) for the refusals no torch.save output reaches: a hostile or broken
    // pytorch_model.bin is bad input, so each must be its own message naming the pickle, never an internal error.
    private const string Storage = "(\u008c\u0007storagectorch\nFloatStorage\n";

    [Theory]
    [InlineData("\u0080\u0002ccollections\nOrderedDict\n)\u0081.", "refused to load: opcode NEWOBJ would instantiate 'collections.OrderedDict'")]
    [InlineData("\u0080\u0002ccollections\nOrderedDict\n)}\u0092.", "refused to load: opcode NEWOBJ_EX would instantiate 'collections.OrderedDict'")]
    [InlineData("\u0080\u0002ccollections\nOrderedDict\n(I1\ntR.", "refused to load: collections.OrderedDict is only allowed with no arguments")]
    [InlineData("\u0080\u0002\u008c\u0006module\u0085Q.", "refused to load: the checkpoint pickles a whole module (its source code), not a state dict")]
    [InlineData("\u0080\u0002" + Storage + "\u008c\u00010\u008c\u0003cpuK\u0004K\u0001tQ.", "corrupted pickle at byte 45: storage views of the legacy torch format are not supported.")]
    [InlineData("\u0080\u0002" + Storage + "\u008c\u0004../x\u008c\u0003cpuK\u0004tQ.", "corrupted pickle at byte 46: storage reference '../x' with 4 elements is invalid.")]
    [InlineData("\u0080\u0002ctorch._utils\n_rebuild_tensor_v2\n(" + Storage + "\u008c\u00010\u008c\u0003cpuK\u0004tQK\u0000K\u0004K\u0001\u0085\u0089)tR.",
        "corrupted pickle at byte 88: _rebuild_tensor_v2: size is an int, not a tuple.")]
    [InlineData("\u0080\u0002Fone\n.", "corrupted pickle at byte 2: 'one' is not a number.")]
    [InlineData("\u0080\u0002I1x\n.", "corrupted pickle at byte 2: '1x' is not an integer.")]
    public void Hostile_and_malformed_pickles_are_one_message_naming_the_pickle(string pickle, string expected)
    {
        var e = Assert.Throws<BertSharpException>(() => new RestrictedUnpickler("model.bin:archive/data.pkl", Encoding.Latin1.GetBytes(pickle)).Load());
        var refusal = expected.StartsWith("refused", StringComparison.Ordinal) ? $"; {AllowedGlobals.Description}. Nothing from the checkpoint was executed." : "";
        Assert.Equal("model.bin:archive/data.pkl: " + expected + refusal, e.Message);
    }

    [Fact]
    public void Text_and_binary_opcodes_of_older_protocols_read_their_values()
    {
        // I01/I00 are protocol 0's booleans; LONG1 0xff is -1; U, B and BINBYTES8 are short strings and bytes.
        var pickle = Encoding.Latin1.GetBytes("\u0080\u0002(I01\nI00\nI-7\n\u008a\u0001\u00ffF1.5\nU\u0002abB\u0002\u0000\u0000\u0000xy" +
                                              "\u008e\u0001\u0000\u0000\u0000\u0000\u0000\u0000\u0000zK\u0001K\u0002K\u0003\u0087t.");
        var items = Assert.IsType<PickleTuple>(new RestrictedUnpickler("values.pkl", pickle).Load()).Items;
        Assert.Equal(new object?[] { true, false, -7L, -1L, 1.5, "ab" }, items[..6]);
        Assert.Equal("xy"u8.ToArray(), items[6]);
        Assert.Equal("z"u8.ToArray(), items[7]);
        Assert.Equal(new object?[] { 1L, 2L, 3L }, Assert.IsType<PickleTuple>(items[8]).Items);
    }

    [Fact]
    public void The_same_hand_built_layout_without_a_payload_loads()
    {
        var sd = PyTorchBinReader.Read(Bin("benign"));
        Assert.Equal(["w"], sd.Keys);
        Assert.Equal(new[] { 1f, 2f, 3f, 4f }, sd["w"].data<float>().ToArray());
        SafeTensors.DisposeAll(sd);
    }

    [Fact]
    public void Malicious_bin_is_refused_through_the_cli_error_contract()
    {
        using var tmp = TestPaths.TempDir();
        File.Copy(Bin("os_system"), tmp.File("pytorch_model.bin"));
        var e = Assert.Throws<BertSharpException>(() => StateDictSource.Load(tmp.Path));
        Assert.Contains("os.system", e.Message);
    }

    // ---- robustness: only BertSharpException, never anything else, never a hang ------------------------------------

    private static byte[] PickleOf(string bin)
    {
        using var zip = ZipFile.OpenRead(bin);
        var entry = zip.Entries.Single(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal));
        using var s = entry.Open();
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        return ms.ToArray();
    }

    /// <summary>Copies a torch zip, replacing its data.pkl.</summary>
    private static void WithPickle(string source, string target, byte[] pickle)
    {
        using var src = ZipFile.OpenRead(source);
        using var dst = ZipFile.Open(target, ZipArchiveMode.Create);
        foreach (var e in src.Entries)
        {
            var ne = dst.CreateEntry(e.FullName, CompressionLevel.NoCompression);
            using var w = ne.Open();
            if (e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal))
            {
                w.Write(pickle);
            }
            else
            {
                using var r = e.Open();
                r.CopyTo(w);
            }
        }
    }

    private static void OnlyBertSharpException(Action a)
    {
        try
        {
            a();
        }
        catch (BertSharpException)
        {
        }
    }

    [Fact]
    public void Pickle_truncated_at_every_byte_is_refused_cleanly()
    {
        var pkl = PickleOf(CheckpointFixtures.LegacyBin);
        for (int cut = 0; cut < pkl.Length; cut++)
        {
            Assert.Throws<BertSharpException>(() => new RestrictedUnpickler("legacy.pkl", pkl[..cut]).Load());
        }
    }

    [Fact]
    public void Archive_truncated_at_many_points_is_refused_cleanly()
    {
        var full = File.ReadAllBytes(CheckpointFixtures.LegacyBin);
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("cut.bin");
        var cuts = Enumerable.Range(0, 64).Concat(Enumerable.Range(0, 150).Select(i => (int)((long)full.Length * i / 150))).Concat([full.Length - 1, full.Length - 22, full.Length - 23]);
        foreach (var cut in cuts.Distinct())
        {
            File.WriteAllBytes(path, full[..cut]);
            Assert.Throws<BertSharpException>(() => PyTorchBinReader.Read(path));
        }
    }

    [Fact]
    public void Random_byte_flips_in_the_pickle_only_raise_BertSharpException()
    {
        var pkl = PickleOf(CheckpointFixtures.LegacyBin);
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("flip.bin");
        var rng = new Random(42);
        for (int trial = 0; trial < 150; trial++)
        {
            var b = (byte[])pkl.Clone();
            for (int k = 0, n = 1 + rng.Next(4); k < n; k++)
            {
                b[rng.Next(b.Length)] = (byte)rng.Next(256);
            }
            WithPickle(CheckpointFixtures.LegacyBin, path, b);
            OnlyBertSharpException(() => SafeTensors.DisposeAll(PyTorchBinReader.Read(path)));
            File.Delete(path);
        }
    }

    [Fact]
    public void Random_byte_flips_anywhere_in_a_small_archive_only_raise_BertSharpException()
    {
        var full = File.ReadAllBytes(Bin("benign"));
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("flip.bin");
        var rng = new Random(7);
        for (int trial = 0; trial < 500; trial++)
        {
            var b = (byte[])full.Clone();
            for (int k = 0, n = 1 + rng.Next(3); k < n; k++)
            {
                b[rng.Next(b.Length)] ^= (byte)(1 << rng.Next(8));
            }
            File.WriteAllBytes(path, b);
            OnlyBertSharpException(() => SafeTensors.DisposeAll(PyTorchBinReader.Read(path)));
        }
    }

    [Fact]
    public void Not_a_zip_and_legacy_format_are_named()
    {
        using var tmp = TestPaths.TempDir();
        File.WriteAllBytes(tmp.File("pickle.bin"), [0x80, 0x02, 0x8a, 0x0a]);
        Assert.Contains("not a PyTorch checkpoint", Assert.Throws<BertSharpException>(() => PyTorchBinReader.Read(tmp.File("pickle.bin"))).Message);
        File.WriteAllText(tmp.File("text.bin"), "hello");
        Assert.Contains("not a PyTorch checkpoint", Assert.Throws<BertSharpException>(() => PyTorchBinReader.Read(tmp.File("text.bin"))).Message);
    }
}

public class ZipSizeClaimTests
{
    [Fact]
    public void Entry_claiming_more_bytes_than_the_file_holds_is_refused_before_allocating()
    {
        // Patch the central-directory sizes of archive/data/0 in benign.bin to claim 2^31 bytes.
        var bytes = File.ReadAllBytes(CheckpointFixtures.File(Path.Combine("malicious", "benign.bin")));
        var name = "archive/data/0"u8.ToArray();
        int cd = -1;
        for (int i = 0; i + 46 < bytes.Length; i++)
        {
            if (bytes[i] == 0x50 && bytes[i + 1] == 0x4b && bytes[i + 2] == 1 && bytes[i + 3] == 2 &&
                bytes.AsSpan(i + 46, name.Length).SequenceEqual(name))
            {
                cd = i;
            }
        }
        Assert.True(cd > 0);
        BitConverter.TryWriteBytes(bytes.AsSpan(cd + 20, 4), 0x7FFFFFF0u); // compressed size
        BitConverter.TryWriteBytes(bytes.AsSpan(cd + 24, 4), 0x7FFFFFF0u); // uncompressed size
        using var tmp = BertSharp.Tests.Infrastructure.TestPaths.TempDir();
        File.WriteAllBytes(tmp.File("big.bin"), bytes);
        BertSharp.Runtime.TorchRuntime.EnsureLoaded();
        var e = Assert.Throws<BertSharpException>(() => BertSharp.Checkpoints.PyTorchBinReader.Read(tmp.File("big.bin")));
        Assert.Contains("archive/data/0 claims 2147483632 bytes", e.Message);
    }
}
