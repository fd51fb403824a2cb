using System.Buffers.Binary;
using System.IO.Compression;
using BertSharp.Data.Pretraining;
using BertSharp.IO;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Data.Pretraining;

public class PretrainingDataTests
{
    private static readonly string Sample = Path.Combine(TestPaths.RepoRoot, "samples", "corpus");

    private static (PretrainingDataBuilder Builder, ToyTokenizer Tok) Builder(IEnumerable<string> texts, PretrainingOptions options, int threads = 2)
    {
        var tok = new ToyTokenizer(texts);
        return (new PretrainingDataBuilder(tok.Encode, tok.Tokens, "00ff") { Options = options, MaxDegreeOfParallelism = threads, ShardSize = 700 }, tok);
    }

    private static List<string> SampleTexts() =>
    [
        .. CorpusReader.ReadDocuments(Path.Combine(Sample, "imdb_unsup_sample.txt.gz"), CorpusFormat.Auto).SelectMany(d => d),
        .. CorpusReader.ReadDocuments(Path.Combine(Sample, "pg11_alice.txt"), CorpusFormat.Auto).SelectMany(d => d),
    ];

    private static string[] SampleFiles() =>
        [Path.Combine(Sample, "imdb_unsup_sample.txt.gz"), Path.Combine(Sample, "pg11_alice.txt")];

    [Fact]
    public void Sample_corpus_statistics_match_googles_recipe()
    {
        using var tmp = TestPaths.TempDir();
        var (builder, _) = Builder(SampleTexts(), new PretrainingOptions { DupeFactor = 2, Seed = 12345 });
        var manifest = builder.Build(SampleFiles(), tmp.File("data"));
        var data = PretrainingDataset.Open(tmp.File("data"));
        var stats = PretrainingDataStats.Compute(data);

        Assert.Equal(manifest.Instances, stats.Instances);
        Assert.True(stats.Instances > 5000, $"{stats.Instances} instances");
        Assert.InRange(stats.MaskedFraction, 0.145, 0.155);
        Assert.InRange(stats.MaskShare, 0.79, 0.81);
        Assert.InRange(stats.RandomShare, 0.09, 0.11);
        Assert.InRange(stats.UnchangedShare, 0.09, 0.11);
        // Each instance's next segment is random with probability 1/2: three standard deviations of that coin over the
        // instances (±0.02 for ~5,500), where a fixed ±0.01 (1.5 σ) failed on the sentence splitter's next change of seed path.
        var sigma = Math.Sqrt(0.25 / stats.Instances);
        Assert.InRange(stats.RandomNextShare, 0.5 - 3 * sigma, 0.5 + 3 * sigma);
        Assert.True(stats.MaxLength <= 128);
        Assert.Equal(manifest.RandomNext, stats.RandomNext);
        Assert.Equal(manifest.MaskedTokens, stats.Masked);
    }

    [Trait(SlowFirstOrderer.Category, SlowFirstOrderer.Slow)]
    [Fact]
    public void Output_is_byte_identical_for_a_seed_whatever_the_thread_count()
    {
        using var tmp = TestPaths.TempDir();
        var texts = SampleTexts();
        var options = new PretrainingOptions { DupeFactor = 2, Seed = 7, WholeWordMask = true };
        Builder(texts, options, threads: 1).Builder.Build(SampleFiles(), tmp.File("a"));
        Builder(texts, options, threads: 4).Builder.Build(SampleFiles(), tmp.File("b"));
        Builder(texts, options with { Seed = 8 }, threads: 2).Builder.Build(SampleFiles(), tmp.File("c"));
        var files = Directory.GetFiles(tmp.File("a")).Select(Path.GetFileName).Order().ToList();
        Assert.True(files.Count > 3);
        Assert.Equal(files, Directory.GetFiles(tmp.File("b")).Select(Path.GetFileName).Order());
        foreach (var f in files)
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(tmp.File("a"), f!)), File.ReadAllBytes(Path.Combine(tmp.File("b"), f!)));
        }
        Assert.NotEqual(File.ReadAllBytes(tmp.File("a/shard-00000.bin")), File.ReadAllBytes(tmp.File("c/shard-00000.bin")));
    }

    [Fact]
    public void Shards_round_trip_and_stream_from_any_position()
    {
        using var tmp = TestPaths.TempDir();
        var docs = Enumerable.Range(0, 30).Select(d => $"Doc {d} starts here. It has a second sentence. And a third one about item {d}.").ToList();
        File.WriteAllText(tmp.File("c.txt"), string.Join("\n\n", docs));
        var (builder, tok) = Builder(docs, new PretrainingOptions { DupeFactor = 50, MaxSeqLength = 16 });
        var tokenized = builder.Tokenize([tmp.File("c.txt")]);
        var instances = builder.CreateInstances(tokenized.Documents, tokenized.FileDocumentStart);
        builder.Build([tmp.File("c.txt")], tmp.File("out"));
        var data = PretrainingDataset.Open(tmp.File("out"));
        Assert.True(data.Manifest.Shards.Count >= 2);
        Assert.Equal(2, data.Manifest.IdWidth);
        var read = data.Read().ToList();
        Assert.Equal(instances.Count, read.Count);
        Assert.All(instances.Zip(read), p => Assert.True(p.First.ContentEquals(p.Second)));
        var from = data.Read(1000).First();
        Assert.True(from.ContentEquals(instances[1000]));
        var wrapped = data.ReadForever(instances.Count - 1).Take(2).ToList();
        Assert.Equal(instances.Count, wrapped[1].Position);
        Assert.True(wrapped[1].Instance.ContentEquals(instances[0]));
        Assert.Equal(tok.Tokens.Count, data.Manifest.VocabSize);
    }

    [Fact]
    public void Corrupt_shard_is_a_clear_error()
    {
        using var tmp = TestPaths.TempDir();
        var docs = Enumerable.Range(0, 10).Select(d => $"Doc {d} one. Doc {d} two.").ToList();
        File.WriteAllText(tmp.File("c.txt"), string.Join("\n\n", docs));
        Builder(docs, new PretrainingOptions { DupeFactor = 3 }).Builder.Build([tmp.File("c.txt")], tmp.File("out"));
        var shard = tmp.File("out/shard-00000.bin");
        var bytes = File.ReadAllBytes(shard);
        // The trailer is the zip/zlib CRC-32 of the rest, as System.IO.Compression computes it for a zip entry: shards
        // written by earlier versions (a hand-written CRC then) still verify.
        Assert.Equal(ZipCrc32(bytes[..^4]), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(bytes.Length - 4)));
        bytes[bytes.Length / 2] ^= 0x40;
        File.WriteAllBytes(shard, bytes);
        var data = PretrainingDataset.Open(tmp.File("out"));
        var e = Assert.Throws<BertSharpException>(() => data.Read().ToList());
        Assert.Contains("CRC mismatch", e.Message, StringComparison.Ordinal);
        Assert.EndsWith("the shard is corrupt, rebuild it with PretrainingDataBuilder.", e.Message, StringComparison.Ordinal);
        Assert.Contains("shard-00000.bin", e.Message, StringComparison.Ordinal);
    }

    // Each shard verified only its own CRC: one of data built with another seed, of the same size and count, was read as
    // the manifest's (and a resumed run checks its data by the manifest's CRCs).
    [Fact]
    public void A_shard_of_other_data_is_refused_by_the_manifests_crc()
    {
        using var tmp = TestPaths.TempDir();
        var docs = Enumerable.Range(0, 10).Select(d => $"Doc {d} one. Doc {d} two.").ToList();
        File.WriteAllText(tmp.File("c.txt"), string.Join("\n\n", docs));
        var packed = new PretrainingOptions { DupeFactor = 1, Objective = PretrainingObjective.MaskedLm, ShortSeqProb = 0, MaxSeqLength = 16 };
        var a = Builder(docs, packed with { Seed = 1 }).Builder.Build([tmp.File("c.txt")], tmp.File("a"));
        var b = Builder(docs, packed with { Seed = 2 }).Builder.Build([tmp.File("c.txt")], tmp.File("b"));
        Assert.Equal((a.Shards[0].Instances, a.Shards[0].Bytes), (b.Shards[0].Instances, b.Shards[0].Bytes));
        Assert.NotEqual(a.Shards[0].Crc32, b.Shards[0].Crc32);
        File.Copy(tmp.File("b/shard-00000.bin"), tmp.File("a/shard-00000.bin"), overwrite: true);
        var e = Assert.Throws<BertSharpException>(() => PretrainingDataset.Open(tmp.File("a")).Read().ToList());
        Assert.Equal($"{tmp.File("a/shard-00000.bin")}: CRC-32 {b.Shards[0].Crc32} but the manifest lists {a.Shards[0].Crc32}; the shard is not the one " +
            "built with this manifest (rebuild the data, or copy the whole directory).", e.Message);
    }

    [Fact]
    public void Empty_corpus_and_single_document_are_errors_and_leave_the_output_alone()
    {
        using var tmp = TestPaths.TempDir();
        Directory.CreateDirectory(tmp.File("out"));
        File.WriteAllText(tmp.File("out/keep.txt"), "previous");
        File.WriteAllText(tmp.File("empty.txt"), "\n\n   \n");
        File.WriteAllText(tmp.File("one.txt"), "Only one document. It has two sentences.\n");
        var (builder, _) = Builder(["only one document it has two sentences"], new PretrainingOptions());
        // A directory holding files bert did not write is refused before the corpus is read.
        Assert.Throws<ForeignOutputException>(() => builder.Build([tmp.File("one.txt")], tmp.File("out")));
        Directory.CreateDirectory(tmp.File("fresh"));
        var empty = Assert.Throws<BertSharpException>(() => builder.Build([tmp.File("empty.txt")], tmp.File("fresh")));
        Assert.Contains("empty corpus", empty.Message, StringComparison.Ordinal);
        var one = Assert.Throws<BertSharpException>(() => builder.Build([tmp.File("one.txt")], tmp.File("fresh")));
        Assert.Contains("only one document", one.Message, StringComparison.Ordinal);
        Assert.Throws<PathException>(() => builder.Build([tmp.File("missing.txt")], tmp.File("fresh")));
        Assert.Equal(["keep.txt"], Directory.GetFiles(tmp.File("out")).Select(Path.GetFileName));
        Assert.Empty(Directory.GetFileSystemEntries(tmp.File("fresh")));
    }

    // The output was found unwritable only once the whole corpus had been tokenized and every instance built.
    [Fact]
    public void An_output_that_cannot_be_written_is_refused_before_the_corpus_is_read()
    {
        using var tmp = TestPaths.TempDir();
        var docs = new[] { "Doc one. Doc one again.", "Doc two. Doc two again." };
        File.WriteAllText(tmp.File("c.txt"), string.Join("\n\n", docs));
        var tok = new ToyTokenizer(docs);
        var encoded = 0;
        var builder = new PretrainingDataBuilder(t => { Interlocked.Increment(ref encoded); return tok.Encode(t); }, tok.Tokens, "00ff");
        var e = Assert.Throws<OutputWriteException>(() => builder.Build([tmp.File("c.txt")], "/proc/data"));
        Assert.Equal("/proc/data: cannot be written (no such file or directory).", e.Message);
        Assert.Equal(0, encoded);
        Assert.Null(builder.Stats);
    }

    [Fact]
    public void A_model_or_run_directory_is_refused_as_output_and_kept_whole()
    {
        using var tmp = TestPaths.TempDir();
        var docs = new[] { "Doc one. Doc one again.", "Doc two. Doc two again." };
        File.WriteAllText(tmp.File("c.txt"), string.Join("\n\n", docs));
        // A run directory as 'bert pretrain' leaves it: every entry is BertSharp's, named in its marker.
        OutputDirectory.Claim(tmp.File("run"), ["checkpoint-*", "train_log.jsonl"], overwrite: false);
        Directory.CreateDirectory(tmp.File("run/checkpoint-2"));
        File.WriteAllText(tmp.File("run/checkpoint-2/config.json"), "{}");
        File.WriteAllText(tmp.File("run/train_log.jsonl"), "{}\n");
        var (builder, _) = Builder(docs, new PretrainingOptions { DupeFactor = 1 });
        var e = Assert.Throws<OtherOutputException>(() => builder.Build([tmp.File("c.txt")], tmp.File("run")));
        Assert.Contains("run: holds BertSharp output that is not pre-training data (checkpoint-2, train_log.jsonl)", e.Message, StringComparison.Ordinal);
        Assert.Equal(["checkpoint-2", "train_log.jsonl"], Directory.GetFileSystemEntries(tmp.File("run")).Select(Path.GetFileName).Where(n => n != OutputDirectory.MarkerName).Order(StringComparer.Ordinal));
        Assert.Equal("{}", File.ReadAllText(tmp.File("run/checkpoint-2/config.json")));

        // Data it wrote before is still replaced.
        builder.Build([tmp.File("c.txt")], tmp.File("data"));
        builder.Build([tmp.File("c.txt")], tmp.File("data"));
        Assert.Equal([".bertsharp", "manifest.json", "shard-00000.bin"], Directory.GetFileSystemEntries(tmp.File("data")).Select(Path.GetFileName).Order(StringComparer.Ordinal));

        // Cancelled (Ctrl-C) inside a corpus file: it stops at the next document, the data written before is as it was,
        // and no staging directory is left beside it.
        var before = TestPaths.Snapshot(tmp.File("data"));
        using var cancel = new CancellationTokenSource();
        var tok = new ToyTokenizer(docs);
        var encoded = 0;
        var stopped = new PretrainingDataBuilder(t => { encoded++; cancel.Cancel(); return tok.Encode(t); }, tok.Tokens, "00ff")
        {
            Options = new PretrainingOptions { DupeFactor = 1 },
            MaxDegreeOfParallelism = 1,
            Cancellation = cancel.Token,
        };
        Assert.ThrowsAny<OperationCanceledException>(() => stopped.Build([tmp.File("c.txt")], tmp.File("data")));
        Assert.Equal(2, encoded); // the first document's two sentences
        TestPaths.AssertUnchanged(before, tmp.File("data"));
        Assert.Equal(["c.txt", "data", "run"], Directory.GetFileSystemEntries(tmp.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void A_shard_size_below_one_is_refused_before_anything_is_written(int shardSize)
    {
        using var tmp = TestPaths.TempDir();
        var docs = new[] { "Doc one. Doc one again.", "Doc two. Doc two again." };
        File.WriteAllText(tmp.File("c.txt"), string.Join("\n\n", docs));
        var tok = new ToyTokenizer(docs);
        var builder = new PretrainingDataBuilder(tok.Encode, tok.Tokens, "00ff") { ShardSize = shardSize };
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => builder.Build([tmp.File("c.txt")], tmp.File("out")));
        Assert.Equal("ShardSize", e.ParamName);
        Assert.False(Directory.Exists(tmp.File("out")));
    }

    [Fact]
    public void Manifest_writes_the_objective_as_typed_and_reads_the_escaped_form_too()
    {
        using var tmp = TestPaths.TempDir();
        var docs = new[] { "Doc one. Doc one again.", "Doc two. Doc two again." };
        File.WriteAllText(tmp.File("c.txt"), string.Join("\n\n", docs));
        var (builder, _) = Builder(docs, new PretrainingOptions { DupeFactor = 1 });
        builder.Build([tmp.File("c.txt")], tmp.File("data"));
        var path = tmp.File("data/manifest.json");
        var text = File.ReadAllText(path);
        Assert.Contains("\"objective\": \"mlm+nsp\"", text, StringComparison.Ordinal);

        // Manifests written before kept the escape; JSON readers take both.
        File.WriteAllText(path, text.Replace("mlm+nsp", "mlm\\u002Bnsp", StringComparison.Ordinal));
        Assert.Equal("mlm+nsp", PretrainingManifest.Load(tmp.File("data")).Objective);
    }

    [Fact]
    public void Vocabulary_mismatch_between_data_and_model_is_an_error()
    {
        using var tmp = TestPaths.TempDir();
        File.WriteAllText(tmp.File("vocab.txt"), "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\ndoc\none\ntwo\n");
        File.WriteAllText(tmp.File("other.txt"), "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\ndoc\ntwo\none\n");
        var tokens = File.ReadAllLines(tmp.File("vocab.txt"));
        File.WriteAllText(tmp.File("c.txt"), "doc one.\n\ndoc two.\n\ndoc one two.\n");
        var builder = new PretrainingDataBuilder(t => new ToyTokenizer(tokens[5..]).Encode(t), tokens, PretrainingDataset.VocabSha256(tmp.File("vocab.txt")));
        builder.Build([tmp.File("c.txt")], tmp.File("out"));
        var data = PretrainingDataset.Open(tmp.File("out"));
        data.CheckVocabulary(tmp.File("vocab.txt"));
        // A path problem, so that the CLI names the vocabulary as the user typed it.
        var e = Assert.Throws<PathException>(() => data.CheckVocabulary(tmp.File("other.txt")));
        Assert.Equal(tmp.File("other.txt"), e.Path);
        Assert.Contains("does not match", e.Message, StringComparison.Ordinal);
    }

    private static uint ZipCrc32(byte[] data)
    {
        using var ms = new MemoryStream();
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
        using (var entry = zip.CreateEntry("shard", CompressionLevel.NoCompression).Open())
        {
            entry.Write(data);
        }
        ms.Position = 0;
        using var read = new ZipArchive(ms, ZipArchiveMode.Read);
        return read.GetEntry("shard")!.Crc32;
    }

    /// <summary>A manifest as 'bert pretrain-data' writes it (compact: one shard of three instances).</summary>
    internal static string ManifestJson() => System.Text.Json.Nodes.JsonNode.Parse(new PretrainingManifest
    {
        VocabSize = 10, IdWidth = 2, ClsId = 2, SepId = 3, MaskId = 4, MaxSeqLength = 8, Instances = 3,
        Shards = [new ManifestShard { File = "shard-00000.bin", Instances = 3, Bytes = 40, Crc32 = "00000000" }],
    }.ToJson())!.ToJsonString();

    [Theory]
    [InlineData("\"instances\":3,", "\"instances\":3,\"instances\":4,", "duplicate key 'instances'.")]
    [InlineData("\"crc32\":\"00000000\"", "\"crc32\":\"00000000\",\"crc32\":\"ffffffff\"", "duplicate key 'shards.crc32'.")]
    [InlineData("\"cls_id\":2,", "", "missing field 'cls_id'.")]
    [InlineData(",\"crc32\":\"00000000\"", "", "missing field 'shards[0].crc32'.")]
    [InlineData("\"vocab_size\":10", "\"vocab_size\":\"10\"", "field 'vocab_size': expected an integer, got \"10\".")]
    [InlineData("\"bytes\":40", "\"bytes\":true", "field 'shards[0].bytes': expected an integer, got true.")]
    [InlineData("\"whole_word_mask\":false", "\"whole_word_mask\":0", "field 'whole_word_mask': expected true or false, got 0.")]
    [InlineData("\"shards\":[", "\"shards\":[null,", "field 'shards[0]': expected an object, got null.")]
    [InlineData("\"vocab_sha256\":\"\"", "\"vocab_sha256\":null", "field 'vocab_sha256': expected a string, got null.")]
    [InlineData("\"inputs\":[]", "\"inputs\":{}", "field 'inputs': expected a list, got {}.")]
    public void A_manifest_with_a_duplicate_missing_or_mistyped_field_is_refused_naming_it(string find, string replace, string expected)
    {
        using var tmp = TestPaths.TempDir();
        var path = tmp.File(PretrainingManifest.FileName);
        var json = ManifestJson();
        File.WriteAllText(path, json);
        Assert.Equal(3, PretrainingManifest.Load(tmp.Path).Shards[0].Instances);
        // Manifests written before 'objective' existed are pairs with NSP.
        var old = System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject();
        Assert.True(old.Remove("objective"));
        File.WriteAllText(path, old.ToJsonString());
        Assert.Equal("mlm+nsp", PretrainingManifest.Load(tmp.Path).Objective);
        Assert.Contains(find, json, StringComparison.Ordinal);
        File.WriteAllText(path, json.Replace(find, replace, StringComparison.Ordinal));
        Assert.Equal($"{path}: {expected}", Assert.Throws<BertSharpException>(() => PretrainingManifest.Load(tmp.Path)).Message);
    }

    [Fact]
    public void A_manifest_with_trailing_text_or_invalid_utf8_is_refused()
    {
        using var tmp = TestPaths.TempDir();
        var path = tmp.File(PretrainingManifest.FileName);
        File.WriteAllText(path, ManifestJson() + "]");
        var e = Assert.Throws<BertSharpException>(() => PretrainingManifest.Load(tmp.Path));
        Assert.StartsWith($"{path} line 1: not valid JSON (']' is invalid after a single JSON value", e.Message, StringComparison.Ordinal);
        Assert.EndsWith("; expected the manifest of a pre-training data directory.", e.Message, StringComparison.Ordinal);
        var bytes = System.Text.Encoding.UTF8.GetBytes(ManifestJson().Replace("\"shard-", "\n\"\u00e9-", StringComparison.Ordinal));
        bytes[Array.IndexOf(bytes, (byte)0xC3) + 1] = (byte)'-';
        File.WriteAllBytes(path, bytes);
        Assert.Equal($"{path} line 2: invalid UTF-8 byte sequence (the file must be UTF-8 text).", Assert.Throws<BertSharpException>(() => PretrainingManifest.Load(tmp.Path)).Message);
        File.Delete(path);
        Assert.Equal($"{path}: not found; expected a directory written by PretrainingDataBuilder.", Assert.Throws<BertSharpException>(() => PretrainingManifest.Load(tmp.Path)).Message);
    }
}
