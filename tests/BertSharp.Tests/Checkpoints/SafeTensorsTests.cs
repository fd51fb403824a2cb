using BertSharp.Modeling;
using System.Buffers.Binary;
using System.Text;
using BertSharp.Checkpoints;
using BertSharp.Runtime;
using BertSharp.Tests.Infrastructure;
using CsCheck;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Tests.Checkpoints;

public class SafeTensorsTests
{
    public SafeTensorsTests() => TorchRuntime.EnsureLoaded();

    [Theory]
    [InlineData("../hf_bert/pretraining/model.safetensors")]
    [InlineData("../hf_bert/sequence-classification/reference.safetensors")]
    [InlineData("dtypes.safetensors")]
    [InlineData("names.safetensors")]
    public void Load_then_save_reproduces_the_reference_writer_byte_for_byte(string name)
    {
        var path = Path.GetFullPath(CheckpointFixtures.File(name));
        var header = SafeTensors.ReadHeader(path);
        var tensors = SafeTensors.Load(path);
        using var tmp = TestPaths.TempDir();
        var copy = tmp.File("copy.safetensors");
        // Hand the tensors over in reverse order: the writer must impose the reference order itself.
        var reversed = tensors.Reverse().ToDictionary(kv => kv.Key, kv => kv.Value);
        SafeTensors.Save(copy, reversed, header.Metadata);
        Assert.Equal(File.ReadAllBytes(path), File.ReadAllBytes(copy));
        SafeTensors.DisposeAll(tensors);
    }

    [Fact]
    public void Header_lists_hf_keys_dtypes_shapes_and_metadata()
    {
        var h = SafeTensors.ReadHeader(CheckpointFixtures.PretrainingSafeTensors);
        Assert.Equal("pt", h.Metadata["format"]);
        // HF leaves the tied decoder weight out of model.safetensors (it is the word-embedding matrix).
        Assert.Null(h.Find("cls.predictions.decoder.weight"));
        var emb = h.Find("bert.embeddings.word_embeddings.weight")!;
        Assert.Equal("F32", emb.DType.Name);
        Assert.Equal(new long[] { 512, 64 }, emb.Shape);
        Assert.Equal(512 * 64 * 4, emb.ByteCount);
        Assert.Equal(8 + 4904, h.DataStart);
        Assert.Equal(0, h.Tensors[0].Begin);
        Assert.Equal(new FileInfo(CheckpointFixtures.PretrainingSafeTensors).Length - h.DataStart, h.Tensors[^1].End);
    }

    [Fact]
    public void Tensor_values_equal_the_raw_little_endian_bytes_at_their_offsets()
    {
        var path = CheckpointFixtures.PretrainingSafeTensors;
        var h = SafeTensors.ReadHeader(path);
        var raw = File.ReadAllBytes(path);
        var tensors = SafeTensors.Load(path);
        foreach (var e in h.Tensors)
        {
            var t = tensors[e.Name];
            Assert.Equal(e.Shape, t.shape);
            var values = t.reshape(-1).data<float>().ToArray();
            for (int i = 0; i < values.Length; i += 7)
            {
                var expected = BinaryPrimitives.ReadSingleLittleEndian(raw.AsSpan((int)(h.DataStart + e.Begin + 4 * i), 4));
                Assert.Equal(expected, values[i]);
            }
        }
        SafeTensors.DisposeAll(tensors);
    }

    [Fact]
    public void Every_dtype_loads_with_the_values_written_by_hand()
    {
        var t = SafeTensors.Load(CheckpointFixtures.DTypes);
        Assert.Equal(ScalarType.Float16, t["half"].dtype);
        Assert.Equal(new long[] { 2, 3 }, t["half"].shape);
        Assert.Equal(new[] { 1.0f, -2.5f, 0.099975586f, 65504f, 6.1035156e-05f, 0f }, t["half"].to_type(ScalarType.Float32).reshape(-1).data<float>().ToArray());
        Assert.Equal(ScalarType.BFloat16, t["brain"].dtype);
        Assert.Equal(new[] { 1.0f, -2.5f, 3.140625f, 1.0002555517425873e30f /* 1e30 rounded to bfloat16 */ }, t["brain"].to_type(ScalarType.Float32).data<float>().ToArray());
        Assert.Equal(new[] { 1.5f, -0.25f, 3.4e38f }, t["single"].data<float>().ToArray());
        Assert.Equal(new[] { 0.1, -1e300 }, t["double"].data<double>().ToArray());
        Assert.Equal(new[] { 0L, -1L, 1L << 40, -(1L << 62) }, t["long"].reshape(-1).data<long>().ToArray());
        Assert.Equal(new[] { 7, -7, int.MaxValue }, t["int"].data<int>().ToArray());
        Assert.Equal(new short[] { -300, 300 }, t["short"].data<short>().ToArray());
        Assert.Equal(new byte[] { 0, 128, 255 }, t["byte"].data<byte>().ToArray());
        Assert.Equal(new sbyte[] { -128, 127 }, t["sbyte"].data<sbyte>().ToArray());
        Assert.Equal(new[] { true, false, true }, t["flag"].data<bool>().ToArray());
        Assert.Empty(t["scalar"].shape);
        Assert.Equal(42f, t["scalar"].item<float>());
        Assert.Equal(new long[] { 0, 4 }, t["empty"].shape);
        SafeTensors.DisposeAll(t);
    }

    [Fact]
    public void Names_needing_escapes_and_non_ascii_names_keep_their_exact_text()
    {
        var t = SafeTensors.Load(CheckpointFixtures.File("names.safetensors"));
        // make_dtypes.py stores i as the value of the i-th name in UTF-8 byte order.
        string[] utf8Order = ["back\\slash", "ctl\u0001\u001f", "déjà", "plain", "quote\"d", "tab\tnew\nline", "\u007f", "\uff5a", "\U0001F600"];
        Assert.Equal(utf8Order, t.Keys);
        for (int i = 0; i < utf8Order.Length; i++)
        {
            Assert.Equal(i, t[utf8Order[i]].item<float>());
        }
        Assert.Equal("väl\nue", SafeTensors.ReadHeader(CheckpointFixtures.File("names.safetensors")).Metadata["k\"ey"]);
        SafeTensors.DisposeAll(t);
    }

    [Fact]
    public void Random_state_dicts_round_trip_and_resave_byte_identically()
    {
        var dtypes = Pick(ScalarType.Float32, ScalarType.Float16, ScalarType.BFloat16, ScalarType.Float64, ScalarType.Int64,
            ScalarType.Int32, ScalarType.Int16, ScalarType.Int8, ScalarType.Byte, ScalarType.Bool);
        var chars = Gen.OneOf(Gen.Char.AlphaNumeric, Gen.Char['\0', '\u00ff'], Gen.Char['\u3040', '\u30ff'], Pick('"', '\\', '.', '\n'));
        var entry = Gen.Select(Gen.String[chars, 1, 10], dtypes, Gen.Int[0, 4].Array[0, 3]);
        using var tmp = TestPaths.TempDir();
        entry.Array[0, 6].Sample(entries =>
        {
            // Every tensor of the sample belongs to this scope and the Scalars are stable: an unreferenced temporary or an
            // implicit Scalar can be freed by a GC on another thread during the native call (tests/README.md, "A test host
            // that crashes"; this test was running when the parallel host crashed once).
            using var scope = NewDisposeScope();
            var tensors = new Dictionary<string, Tensor>();
            foreach (var (name, dtype, shape) in entries)
            {
                if (name == "__metadata__" || tensors.ContainsKey(name))
                {
                    continue;
                }
                long n = shape.Aggregate(1L, (a, b) => a * b);
                var values = StableScalars.Range(n, ScalarType.Float64).mul(StableScalars.Of(0.37)).sub(StableScalars.Of(2L));
                tensors[name] = (dtype == ScalarType.Bool ? values.gt(StableScalars.Of(0L)) : values.to_type(dtype)).reshape(shape.Select(d => (long)d).ToArray());
            }
            var a = tmp.File("a.safetensors");
            var b = tmp.File("b.safetensors");
            SafeTensors.Save(a, tensors, new Dictionary<string, string> { ["format"] = "pt" });
            var back = SafeTensors.Load(a);
            Assert.Equal(tensors.Keys.Order(StringComparer.Ordinal), back.Keys.Order(StringComparer.Ordinal));
            foreach (var (k, t) in tensors)
            {
                TensorAssert.Identical(t, back[k], k);
            }
            SafeTensors.Save(b, back, SafeTensors.ReadHeader(a).Metadata);
            Assert.Equal(File.ReadAllBytes(a), File.ReadAllBytes(b));
            SafeTensors.DisposeAll(back);
            foreach (var t in tensors.Values)
            {
                t.Dispose();
            }
        }, iter: 150, threads: 1);
    }

    private static Gen<T> Pick<T>(params T[] values) => Gen.Int[0, values.Length - 1].Select(i => values[i]);

    [Fact]
    public void Half_precision_tensors_are_written_as_F16_and_BF16_bits()
    {
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("half.safetensors");
        using var f = tensor(new[] { 1.0f, -2.5f, 0.5f });
        using var h = f.to_type(ScalarType.Float16);
        using var b = f.to_type(ScalarType.BFloat16);
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["h"] = h, ["b"] = b });
        var header = SafeTensors.ReadHeader(path);
        var raw = File.ReadAllBytes(path);
        ushort Bits(string n, int i) => BinaryPrimitives.ReadUInt16LittleEndian(raw.AsSpan((int)(header.DataStart + header.Find(n)!.Begin + 2 * i), 2));
        // IEEE half: 1.0 = 0x3C00, -2.5 = 0xC100, 0.5 = 0x3800; bfloat16 is the top half of the float32 bits.
        Assert.Equal(new ushort[] { 0x3C00, 0xC100, 0x3800 }, new[] { Bits("h", 0), Bits("h", 1), Bits("h", 2) });
        Assert.Equal(new ushort[] { 0x3F80, 0xC020, 0x3F00 }, new[] { Bits("b", 0), Bits("b", 1), Bits("b", 2) });
        Assert.Equal("BF16", header.Tensors[0].DType.Name); // BF16 ranks above F16 in the Rust order
        var back = SafeTensors.Load(path);
        Assert.Equal(ScalarType.Float16, back["h"].dtype);
        Assert.True(back["b"].equal(b).all().item<bool>());
        SafeTensors.DisposeAll(back);
    }

    [Fact]
    public void Non_contiguous_tensors_are_written_in_C_order()
    {
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("t.safetensors");
        using var m = StableScalars.Range(6, ScalarType.Float32).reshape(2, 3);
        using var t = m.t();
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["t"] = t });
        var back = SafeTensors.Load(path);
        Assert.Equal(new long[] { 3, 2 }, back["t"].shape);
        Assert.Equal(new[] { 0f, 3f, 1f, 4f, 2f, 5f }, back["t"].reshape(-1).data<float>().ToArray());
        SafeTensors.DisposeAll(back);
    }

    [Fact]
    public void Chunked_copies_cover_the_whole_tensor()
    {
        using var t = StableScalars.Range(10, ScalarType.Int32);
        var parts = SafeTensorsWriterAccess.Chunks(t, 12).Select(c => c.data<int>().ToArray()).ToList();
        Assert.Equal(4, parts.Count);
        Assert.Equal(Enumerable.Range(0, 10), parts.SelectMany(p => p));
    }

    [Fact]
    public void Empty_dictionary_writes_an_empty_header()
    {
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("e.safetensors");
        SafeTensors.Save(path, new Dictionary<string, Tensor>());
        Assert.Equal([8, 0, 0, 0, 0, 0, 0, 0, .. "{}      "u8.ToArray()], File.ReadAllBytes(path));
        Assert.Empty(SafeTensors.Load(path));
    }

    [Fact]
    public void Reserved_name_and_unstorable_dtype_are_refused()
    {
        using var tmp = TestPaths.TempDir();
        using var t = ones(2);
        var e = Assert.Throws<BertSharpException>(() =>
            SafeTensors.Save(tmp.File("x.safetensors"), new Dictionary<string, Tensor> { ["__metadata__"] = t }));
        Assert.Contains("reserved", e.Message);
        using var c = ones(2, dtype: ScalarType.ComplexFloat32);
        e = Assert.Throws<BertSharpException>(() =>
            SafeTensors.Save(tmp.File("x.safetensors"), new Dictionary<string, Tensor> { ["c"] = c }));
        Assert.Contains("'c'", e.Message);
        Assert.False(File.Exists(tmp.File("x.safetensors")));
    }

    // ---- invalid files -------------------------------------------------------------------------------------------

    private static string WriteRaw(TempDir dir, string json, int dataBytes, ulong? lengthOverride = null)
    {
        var path = dir.File("bad.safetensors");
        var h = Encoding.UTF8.GetBytes(json);
        var bytes = new byte[8 + h.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, lengthOverride ?? (ulong)h.Length);
        h.CopyTo(bytes, 8);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static BertSharpException Refused(string path)
    {
        var e = Assert.Throws<BertSharpException>(() => SafeTensors.Load(path));
        Assert.Contains(path, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Equal(e.Message, Assert.Throws<BertSharpException>(() => SafeTensors.ReadHeader(path)).Message);
        return e;
    }

    [Theory]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,24]}}""", 24, "'b'", "hold 16 bytes but F32 [2] needs 8")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", 12, "'b'", "overlap tensor 'a'")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}}""", 20, "'b'", "gap of 4 bytes")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}""", 12, "'b'", "run past the end of the 12-byte data section")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", 12, "", "cover 8 bytes but the data section has 12")]
    [InlineData("""{"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}}""", 8, "'a'", "unknown dtype 'F33'")]
    [InlineData("""{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}""", 8, "'a'", "shape[0] is not a non-negative integer")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}""", 8, "'a'", "end before they begin")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2]}}""", 8, "'a'", "data_offsets")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}""", 16, "", "'a' appears twice")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}""", 8, "", "not valid JSON")]
    [InlineData("""[1,2]""", 0, "", "does not start with '{'")]
    [InlineData("""{"__metadata__":{"n":1}}""", 0, "", "'n' must be a string")]
    [InlineData("""{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}}""", 8, "'a'", "too many elements")]
    public void Lying_headers_are_refused_naming_the_tensor(string json, int dataBytes, string tensor, string expected)
    {
        using var tmp = TestPaths.TempDir();
        var e = Refused(WriteRaw(tmp, json, dataBytes));
        Assert.Contains(expected, e.Message);
        if (tensor.Length > 0)
        {
            Assert.Contains("tensor " + tensor, e.Message);
        }
    }

    [Fact]
    public void Header_length_larger_than_the_file_or_the_limit_is_refused_before_allocating()
    {
        using var tmp = TestPaths.TempDir();
        Assert.Contains("runs past the end", Refused(WriteRaw(tmp, "{}", 0, 1000)).Message);
        Assert.Contains("limit", Refused(WriteRaw(tmp, "{}", 0, ulong.MaxValue)).Message);
        var tiny = tmp.File("tiny.safetensors");
        File.WriteAllBytes(tiny, [1, 2, 3]);
        Assert.Contains("too short", Refused(tiny).Message);
    }

    [Fact]
    public void Truncation_anywhere_is_refused_and_a_cut_in_the_data_names_the_tensor()
    {
        var full = File.ReadAllBytes(CheckpointFixtures.DTypes);
        var header = SafeTensors.ReadHeader(CheckpointFixtures.DTypes);
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("cut.safetensors");
        for (int cut = 0; cut < full.Length; cut++)
        {
            File.WriteAllBytes(path, full[..cut]);
            var e = Refused(path);
            if (cut > header.DataStart)
            {
                // The first tensor whose bytes are no longer all there is named.
                var victim = header.Tensors.First(t => header.DataStart + t.End > cut);
                Assert.Contains($"tensor '{victim.Name}'", e.Message);
            }
        }
    }

    [Fact]
    public void Unsupported_dtype_reads_its_header_but_does_not_load()
    {
        using var tmp = TestPaths.TempDir();
        var path = WriteRaw(tmp, """{"u":{"dtype":"U32","shape":[1],"data_offsets":[0,4]}}    """, 4);
        Assert.Equal("U32", SafeTensors.ReadHeader(path).Tensors[0].DType.Name);
        var e = Assert.Throws<BertSharpException>(() => SafeTensors.Load(path));
        Assert.Contains("'u'", e.Message);
        Assert.Contains("U32", e.Message);
    }

    [Fact]
    public void Missing_file_is_a_clear_error()
    {
        var e = Assert.Throws<BertSharpException>(() => SafeTensors.Load("/nonexistent/model.safetensors"));
        Assert.Contains("/nonexistent/model.safetensors: file not found", e.Message);
    }

    [Fact]
    public void Random_byte_flips_only_ever_raise_BertSharpException()
    {
        var full = File.ReadAllBytes(CheckpointFixtures.DTypes);
        var rng = new Random(1234);
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("flip.safetensors");
        for (int trial = 0; trial < 400; trial++)
        {
            var b = (byte[])full.Clone();
            int flips = 1 + rng.Next(3);
            for (int k = 0; k < flips; k++)
            {
                b[rng.Next(b.Length)] ^= (byte)(1 << rng.Next(8));
            }
            File.WriteAllBytes(path, b);
            try
            {
                SafeTensors.DisposeAll(SafeTensors.Load(path));
            }
            catch (BertSharpException)
            {
            }
        }
    }
}

/// <summary>Exposes the writer's chunking to tests.</summary>
internal static class SafeTensorsWriterAccess
{
    public static IEnumerable<Tensor> Chunks(Tensor t, long maxBytes) => BertSharp.Checkpoints.SafeTensorsWriter.Chunks(t, maxBytes);
}
