using System.Text;
using BertSharp.Checkpoints;
using BertSharp.Checkpoints.PyTorchBin;
using BertSharp.Modeling;
using BertSharp.Runtime;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;

namespace BertSharp.Tests.Hardening;

/// <summary>The limits behind the bomb refusals, each shown at its boundary: legitimate input under it still loads.</summary>
public class LoaderLimitTests
{
    public LoaderLimitTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void Pickle_budget_admits_a_20000_tensor_state_dict()
    {
        var pickle = new StateDictPickle();
        for (var i = 0; i < 20_000; i++)
        {
            pickle.Tensor("layer." + i, i.ToString(System.Globalization.CultureInfo.InvariantCulture), 1);
        }
        var u = new RestrictedUnpickler("big.pkl", pickle.ToArray());
        var refs = PyTorchBinReader.ToStateDict("big.pkl", u.Load());
        Assert.Equal(20_000, refs.Count);
        Assert.Equal(20_000, u.Storages.Count);
    }

    [Fact]
    public void Nesting_half_a_million_deep_is_a_clean_refusal_not_a_stack_overflow()
    {
        // ']' × n pushes n lists, 'a' × (n-1) appends each into the one below: one list nested n deep. The unpickler never
        // recurses, so this is an ordinary "not a state dict" error.
        const int n = 500_000;
        byte[] pkl = [0x80, 0x02, .. Enumerable.Repeat((byte)']', n), .. Enumerable.Repeat((byte)'a', n - 1), (byte)'.'];
        var root = new RestrictedUnpickler("deep.pkl", pkl).Load();
        var e = Assert.Throws<BertSharpException>(() => PyTorchBinReader.ToStateDict("deep.pkl", root));
        Assert.Contains("not a state dict", e.Message);
    }

    [Fact]
    public void Pickle_budget_counts_memo_entries_marks_and_pushes()
    {
        var limit = RestrictedUnpickler.MaxValues;
        // MARKs closed by POP_MARK, pushes of None each popped, one dict memoised under new keys (MEMOIZE): exactly the
        // budget loads, and one MARK, push or key more is refused.
        static byte[] Pickle(int markCount, int pushCount, int keyCount) =>
            [0x80, 0x02, .. Repeat("(1", markCount), .. Repeat("N0", pushCount), (byte)'}', .. Repeat("\u0094", keyCount), (byte)'.'];
        const int marks = 1000, keys = 1000;
        var pushes = limit - marks - keys - 1;
        Assert.IsType<PickleDict>(new RestrictedUnpickler("ok.pkl", Pickle(marks, pushes, keys)).Load());
        foreach (var over in new[] { Pickle(marks + 1, pushes, keys), Pickle(marks, pushes + 1, keys), Pickle(marks, pushes, keys + 1) })
        {
            var e = Assert.Throws<BertSharpException>(() => new RestrictedUnpickler("over.pkl", over).Load());
            Assert.Equal("over.pkl: refused to load: the pickle creates more than 2,000,000 values (limit for a state dict; a pickle bomb?). " +
                         "Nothing from the checkpoint was executed.", e.Message);
        }
        // Re-memoising one key does not grow the memo, so it does not spend the budget.
        byte[] sameKey = [0x80, 0x02, (byte)'}', .. Repeat("q\u0001", limit + 1), (byte)'.'];
        Assert.IsType<PickleDict>(new RestrictedUnpickler("memo.pkl", sameKey).Load());
    }

    private static byte[] Repeat(string unit, int times)
    {
        var b = Encoding.Latin1.GetBytes(unit);
        var r = new byte[b.Length * times];
        for (var i = 0; i < times; i++)
        {
            b.CopyTo(r, i * b.Length);
        }
        return r;
    }

    [Fact]
    public void Zip_whose_stored_storages_exceed_nothing_loads_and_one_extra_alias_is_refused()
    {
        using var tmp = TestPaths.TempDir();
        var data = Enumerable.Range(0, 16).Select(i => (byte)i).ToArray();
        var good = new TorchZipWriter();
        good.Add("archive/data.pkl", new StateDictPickle().Tensor("w", "0", 4).ToArray());
        good.Add("archive/data/0", data);
        good.Save(tmp.File("good.bin"));
        var sd = PyTorchBinReader.Read(tmp.File("good.bin"));
        Assert.Equal(new[] { 4L }, sd["w"].shape);
        SafeTensors.DisposeAll(sd);

        // Twenty names for one deflated MiB of zeros (about 1 KB): together they claim more stored bytes than the file has.
        var pickle = new StateDictPickle();
        for (var i = 0; i < 20; i++)
        {
            pickle.Tensor("w" + i, i.ToString(System.Globalization.CultureInfo.InvariantCulture), 1 << 18);
        }
        var alias = new TorchZipWriter();
        alias.Add("archive/data.pkl", pickle.ToArray());
        alias.Add("archive/data/0", new byte[1 << 20], deflate: true);
        for (var i = 1; i < 20; i++)
        {
            alias.Alias("archive/data/" + i, "archive/data/0");
        }
        alias.Save(tmp.File("alias.bin"));
        var e = Assert.Throws<BertSharpException>(() => PyTorchBinReader.Read(tmp.File("alias.bin")));
        Assert.Contains("entries share data", e.Message);
        Assert.Contains("alias.bin", e.Message);
    }

    [Fact]
    public void A_flipped_byte_in_a_stored_storage_fails_its_crc_and_an_unrecorded_crc_is_not_checked()
    {
        using var tmp = TestPaths.TempDir();
        var data = Enumerable.Range(0, 16).Select(i => (byte)(i + 1)).ToArray();
        var zip = new TorchZipWriter();
        zip.Add("archive/data.pkl", new StateDictPickle().Tensor("w", "0", 4).ToArray());
        zip.Add("archive/data/0", data);
        zip.Save(tmp.File("good.bin"));
        // Flip one bit of the stored storage: it used to load as a different float, silently.
        var bytes = File.ReadAllBytes(tmp.File("good.bin"));
        var at = bytes.AsSpan().IndexOf(data);
        Assert.True(at > 0 && bytes.AsSpan(at + 1).IndexOf(data) < 0);
        bytes[at + 5] ^= 0x10;
        File.WriteAllBytes(tmp.File("flipped.bin"), bytes);
        var e = Assert.Throws<BertSharpException>(() => PyTorchBinReader.Read(tmp.File("flipped.bin")));
        var expected = $"{tmp.File("flipped.bin")}: storage archive/data/0 of tensor 'w' fails its CRC-32 check (the zip records {TorchZipWriter.Crc32(data):x8}, the bytes give {TorchZipWriter.Crc32(bytes.AsSpan(at, 16)):x8}); the file is corrupted.";
        Assert.Equal(expected, e.Message);
        // A model load reads the storage straight into the parameter, with the same check.
        using (var streamed = PyTorchBinReader.OpenTensors(tmp.File("flipped.bin")))
        using (var w = TorchSharp.torch.empty(4))
        {
            Assert.Equal(expected, Assert.Throws<BertSharpException>(() => streamed.CopyInto("w", w)).Message);
        }
        // The pickle is checked too.
        var pickle = new StateDictPickle().Tensor("w", "0", 4).ToArray();
        var badPickle = new TorchZipWriter();
        badPickle.Add("archive/data.pkl", pickle, crc: TorchZipWriter.Crc32(pickle) ^ 1);
        badPickle.Add("archive/data/0", data);
        badPickle.Save(tmp.File("pickle.bin"));
        Assert.Contains("archive/data.pkl fails its CRC-32 check", Assert.Throws<BertSharpException>(() => PyTorchBinReader.Read(tmp.File("pickle.bin"))).Message, StringComparison.Ordinal);

        // torch.serialization.set_crc32_options(False) records 0: nothing to check, the file loads.
        var unrecorded = new TorchZipWriter();
        unrecorded.Add("archive/data.pkl", pickle, crc: 0);
        unrecorded.Add("archive/data/0", data, crc: 0);
        unrecorded.Save(tmp.File("nocrc.bin"));
        var sd = PyTorchBinReader.Read(tmp.File("nocrc.bin"));
        Assert.Equal(BitConverter.ToSingle(data, 4), sd["w"][1].item<float>());
        SafeTensors.DisposeAll(sd);
    }

    [Fact]
    public void Safetensors_header_at_the_tensor_limit_parses_and_one_more_is_refused()
    {
        string Header(int n)
        {
            var sb = new StringBuilder("{");
            for (var i = 0; i < n; i++)
            {
                sb.Append(i == 0 ? "" : ",").Append("\"t").Append(i).Append("\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}");
            }
            return sb.Append('}').ToString();
        }
        var max = SafeTensorsHeaderParser.MaxTensors;
        var header = SafeTensorsHeaderParser.Parse("ok.safetensors", Encoding.UTF8.GetBytes(Header(max)), 0);
        Assert.Equal(max, header.Tensors.Count);
        Assert.NotNull(header.Find("t99999"));
        var e = Assert.Throws<BertSharpException>(() => SafeTensorsHeaderParser.Parse("x.safetensors", Encoding.UTF8.GetBytes(Header(max + 1)), 0));
        Assert.Contains("x.safetensors", e.Message);
        Assert.Contains("more than 100,000 tensors", e.Message);
    }

    [Theory]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"dtype":"F16"}}""", "field 'dtype' appears twice")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}} {}""", "not valid JSON")]
    [InlineData("""{"\ud800":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", "key '\\ud800' is not valid text")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}""", "data_offsets")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[[0],4]}}""", "are not non-negative integers")]
    [InlineData("""{"a":{"dtype":"F32","shape":{},"data_offsets":[0,4]}}""", "missing array field 'shape'")]
    [InlineData("""{"a":{"dtype":7,"shape":[1],"data_offsets":[0,4]}}""", "missing string field 'dtype'")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]}}""", "not valid JSON")]
    public void Streaming_header_parser_refuses_malformed_headers_naming_the_problem(string json, string expected)
    {
        var e = Assert.Throws<BertSharpException>(() => SafeTensorsHeaderParser.Parse("h.safetensors", Encoding.UTF8.GetBytes(json), 4));
        Assert.Contains(expected, e.Message);
        Assert.StartsWith("h.safetensors: invalid safetensors file", e.Message);
    }

    [Theory]
    // Offsets counted by hand: the header starts at byte 8 of the file, after its length.
    [InlineData("{\"a\":x}", "at byte 13 ('x' is an invalid start of a value)")]
    // Pretty-printed: System.Text.Json would say line 1 (0-based), byte 7 of that line.
    [InlineData("{\n  \"a\": x}", "at byte 17 ('x' is an invalid start of a value)")]
    [InlineData("{\"a\":", "at byte 13 (Expected depth to be zero at the end of the JSON payload. There is an open JSON object or array that should be closed)")]
    public void A_header_that_is_not_JSON_names_the_byte_in_the_file_not_the_parsers_line_and_position(string json, string expected)
    {
        var e = Assert.Throws<BertSharpException>(() => SafeTensorsHeaderParser.Parse("h.safetensors", Encoding.UTF8.GetBytes(json), 0));
        Assert.Equal($"h.safetensors: invalid safetensors file: header is not valid JSON {expected}.", e.Message);
    }

    [Fact]
    public void A_name_with_a_lone_surrogate_escape_names_the_byte_of_its_string()
    {
        // Offset counted by hand: 8 bytes of length, then '{' at 8 and the name's opening quote at 9.
        var e = Assert.Throws<BertSharpException>(() => SafeTensorsHeaderParser.Parse("h.safetensors", "{\"\\ud800\":{}}"u8.ToArray(), 0));
        Assert.Equal("h.safetensors: invalid safetensors file: header at byte 9: key '\\ud800' is not valid text: it holds a lone UTF-16 surrogate (\\ud800); expected a string of Unicode characters.", e.Message);
    }

    [Fact]
    public void Unknown_entry_fields_are_skipped_as_before()
    {
        var h = SafeTensorsHeaderParser.Parse("h", Encoding.UTF8.GetBytes("""{"a":{"note":{"x":[1,2]},"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"""), 4);
        Assert.Equal(new long[] { 1 }, h.Tensors.Single().Shape);
    }

    [Theory]
    [InlineData("model.safetensors.index.json")]
    [InlineData("other.index.json")]
    [InlineData("config.json")]
    public void Shard_index_may_not_name_an_index_or_json_file(string shard)
    {
        using var tmp = TestPaths.TempDir();
        var index = tmp.File("model.safetensors.index.json");
        File.WriteAllText(index, "{\"weight_map\":{\"a\":\"" + shard + "\"}}");
        var e = Assert.Throws<BertSharpException>(() => ShardIndex.Read(index));
        Assert.Contains("indexes may not refer to indexes", e.Message);
        Assert.Contains(index, e.Message);
    }

    // The HF cache links every file to its blob: the limit measured the link (some 80 bytes), so any index got past it.
    [Fact]
    public void Shard_index_size_limit_holds_through_a_link()
    {
        using var tmp = TestPaths.TempDir();
        var index = tmp.LinkToFileOf("model.safetensors.index.json", ShardIndex.MaxIndexBytes + 1);
        var e = Assert.Throws<BertSharpException>(() => ShardIndex.Read(index));
        Assert.Equal($"{index}: invalid shard index: {ShardIndex.MaxIndexBytes + 1} bytes, more than the {ShardIndex.MaxIndexBytes}-byte limit.", e.Message);
    }

    [Fact]
    public void A_config_index_or_vocabulary_that_never_ends_is_refused_at_its_limit_not_read_until_memory_runs_out()
    {
        // /dev/zero reports 0 bytes, so a check of the reported size passes it; the limit must hold for what is read.
        using var tmp = TestPaths.TempDir();
        string Zero(string name)
        {
            var path = tmp.File(name);
            File.CreateSymbolicLink(path, "/dev/zero");
            return path;
        }
        var config = Zero("config.json");
        Assert.Equal($"{config}: more than the {BertConfig.MaxConfigBytes}-byte limit for a config.json.",
            Assert.Throws<BertSharpException>(() => BertConfig.Load(config)).Message);
        var index = Zero("model.safetensors.index.json");
        Assert.Equal($"{index}: more than the {ShardIndex.MaxIndexBytes}-byte limit for a shard index.",
            Assert.Throws<BertSharpException>(() => ShardIndex.Read(index)).Message);
        var vocab = Zero("vocab.txt");
        Assert.Equal($"{vocab}: more than the {64L << 20}-byte limit for a vocab.txt.",
            Assert.Throws<BertSharpException>(() => BertSharp.Tokenization.Vocabulary.Load(vocab)).Message);
        CliRunner.Run("inspect", "--model", tmp.Path).AssertOneLineError($"error: {config}: more than the {BertConfig.MaxConfigBytes}-byte limit for a config.json.");
    }

    [Fact]
    [Trait("Category", "Slow")] // reads 64 MiB three times
    public void Tokenizer_files_and_a_qa_context_that_never_end_are_refused_at_the_whole_file_limit()
    {
        using var tmp = TestPaths.TempDir();
        var limit = 64L << 20;
        foreach (var (name, what) in new[] { ("tokenizer_config.json", "a tokenizer file"), ("tokenizer.json", "a tokenizer file") })
        {
            var dir = tmp.File(name + "-model");
            Directory.CreateDirectory(dir);
            File.Copy(Path.Combine(HfFixture.Dir("sequence-classification"), "vocab.txt"), Path.Combine(dir, "vocab.txt"));
            var zero = Path.Combine(dir, name);
            File.CreateSymbolicLink(zero, "/dev/zero");
            Assert.Equal($"{zero}: more than the {limit}-byte limit for {what}.",
                Assert.Throws<BertSharpException>(() => BertSharp.Tokenization.BertTokenizer.FromDirectory(dir)).Message);
        }
        CliRunner.Run("qa", "--model", HfFixture.Dir("question-answering"), "--question", "q", "--context-file", "/dev/zero")
            .AssertOneLineError($"error: /dev/zero: more than the {limit}-byte limit for a --context-file.");
    }

    [Fact]
    public void Checkpoint_without_tensors_is_refused_by_load_and_convert()
    {
        using var tmp = TestPaths.TempDir();
        var dir = tmp.File("empty");
        Directory.CreateDirectory(dir);
        File.Copy(Path.Combine(HfFixture.Dir("sequence-classification"), "config.json"), Path.Combine(dir, "config.json"));
        using (var f = File.Create(Path.Combine(dir, "model.safetensors")))
        {
            f.Write(BitConverter.GetBytes(2UL));
            f.Write("{}"u8);
        }
        var e = Assert.Throws<BertSharpException>(() => BertPretrained.Load(null, dir, out _));
        Assert.Contains("holds no tensors", e.Message);
        var r = CliRunner.Run("convert", dir, tmp.File("out"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("holds no tensors", r.StdErr);
        Assert.False(Directory.Exists(tmp.File("out")));
    }

    [Fact]
    public void Convert_refuses_to_invent_encoder_weights()
    {
        using var tmp = TestPaths.TempDir();
        var dir = tmp.File("head-only");
        Directory.CreateDirectory(dir);
        var fixture = HfFixture.Dir("sequence-classification");
        File.Copy(Path.Combine(fixture, "config.json"), Path.Combine(dir, "config.json"));
        var all = SafeTensors.Load(Path.Combine(fixture, "model.safetensors"));
        SafeTensors.Save(Path.Combine(dir, "model.safetensors"), all.Where(kv => !kv.Key.Contains("encoder.", StringComparison.Ordinal) && !kv.Key.Contains("embeddings.", StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key, kv => kv.Value));
        SafeTensors.DisposeAll(all);
        var r = CliRunner.Run("convert", dir, tmp.File("out"));
        Assert.True(r.ExitCode == 2, r.StdErr);
        Assert.True(r.StdErr.Contains("lacks", StringComparison.Ordinal), r.StdErr);
        Assert.Contains("encoder weight(s)", r.StdErr);
        Assert.Contains("randomly initialised", r.StdErr);
        Assert.False(Directory.Exists(tmp.File("out")));
    }

    [Fact]
    public void Config_sizes_are_capped_and_the_error_names_the_field_and_limit()
    {
        foreach (var (field, value, limit) in new[] { ("vocab_size", 1L << 25, "16777216"), ("num_hidden_layers", 1025L, "1024"),
                     ("hidden_size", 1L << 17, "65536"), ("max_position_embeddings", 1L << 21, "1048576") })
        {
            var e = Assert.Throws<BertSharpException>(() => BertConfig.Parse($$"""{"{{field}}": {{value}}}""", "c.json"));
            Assert.Contains($"c.json: field '{field}'", e.Message);
            Assert.Contains(limit + " (the limit)", e.Message);
        }
    }

    [Fact]
    public void A_model_of_more_than_two_billion_parameters_is_refused_before_construction()
    {
        var config = new BertConfig { VocabSize = 1 << 24, HiddenSize = 1 << 12, NumAttentionHeads = 16 };
        Assert.True(ParameterShapes.Count(nameof(BertModel), config) > ParameterShapes.MaxParameters);
        var e = Assert.Throws<BertSharpException>(() => BertPretrained.Create<BertModel>(config));
        Assert.Contains("builds at most 2,147,483,648", e.Message);
    }
}

/// <summary>The size arithmetic the checks rely on equals what the real modules allocate.</summary>
public class ParameterShapesTests
{
    public ParameterShapesTests() => TorchRuntime.EnsureLoaded();

    public static TheoryData<string> Architectures => [.. BertPretrained.Architectures];

    [Theory]
    [MemberData(nameof(Architectures))]
    public void Computed_shapes_equal_the_built_models_parameters(string architecture)
    {
        foreach (var config in new[]
                 {
                     new BertConfig { VocabSize = 99, HiddenSize = 32, NumHiddenLayers = 3, NumAttentionHeads = 4, IntermediateSize = 37, MaxPositionEmbeddings = 40, TypeVocabSize = 3, NumLabels = architecture == nameof(BertForQuestionAnswering) ? 2 : 5 },
                     new BertConfig { VocabSize = 7, HiddenSize = 8, NumHiddenLayers = 0, NumAttentionHeads = 2, IntermediateSize = 3, MaxPositionEmbeddings = 5, TypeVocabSize = 1, NumLabels = 2 },
                 })
        {
            using var model = BertPretrained.Create(architecture, config);
            var actual = model.NamedParameters().Select(p => $"{p.Name} [{string.Join(",", p.Param.shape)}]").Order(StringComparer.Ordinal);
            var computed = ParameterShapes.For(architecture, config).Select(p => $"{p.Name} [{string.Join(",", p.Shape)}]").Order(StringComparer.Ordinal);
            Assert.Equal(actual, computed);
            Assert.Equal(model.NamedParameters().Sum(p => p.Param.numel()), ParameterShapes.Count(architecture, config));
        }
    }
}
