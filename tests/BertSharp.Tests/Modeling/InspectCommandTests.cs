using System.Text.Json.Nodes;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Modeling;

public class InspectCommandTests
{
    [Fact]
    public void Inspect_prints_config_parameter_counts_and_every_tensor()
    {
        var r = CliRunner.Run("inspect", HfFixture.Dir("pretraining"));
        Assert.Equal(0, r.ExitCode);
        var checkpoint = (JsonObject)HfFixture.Case("pretraining")["checkpoint"]!["model.safetensors"]!;
        // HF's own count of the stored parameters.
        var expected = (long)checkpoint["num_parameters_stored"]!;
        Assert.Contains($"parameters   {expected:N0}", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("BertForPreTraining", r.StdOut, StringComparison.Ordinal);
        Assert.Matches(@"│ num_hidden_layers\s+│ 2\s+│", r.StdOut);
        Assert.Matches(@"│ encoder\.layer\.1\s+│\s+33,472 │", r.StdOut);
        foreach (var key in ((JsonArray)checkpoint["keys"]!).Select(k => (string)k!))
        {
            Assert.Contains("│ " + key + " ", r.StdOut, StringComparison.Ordinal);
        }
        Assert.Matches(@"bert\.embeddings\.word_embeddings\.weight\s+│ F32\s+│ \[512, 64\]", r.StdOut);
    }

    [Fact]
    public void Inspect_of_a_pickle_checkpoint_does_not_count_tied_copies()
    {
        using var tmp = TestPaths.TempDir();
        foreach (var f in new[] { "config.json", "pytorch_model.bin" })
        {
            File.Copy(Path.Combine(HfFixture.Dir("pretraining"), f), tmp.File(f));
        }
        var r = CliRunner.Run("inspect", tmp.Path);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("pytorch_model.bin", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("│ cls.predictions.decoder.weight ", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("parameters   113,154", r.StdOut, StringComparison.Ordinal);
    }

    // The weights line gave the index's own size (4,027 bytes) for 450 kB of shards.
    [Fact]
    public void Inspect_of_a_sharded_checkpoint_gives_the_size_of_its_shards()
    {
        using var tmp = TestPaths.TempDir();
        var shards = Directory.GetFiles(Path.Combine(TestPaths.Fixtures, "checkpoints", "sharded"));
        foreach (var f in shards)
        {
            File.Copy(f, tmp.File(Path.GetFileName(f)));
        }
        File.Copy(Path.Combine(HfFixture.Dir("pretraining"), "config.json"), tmp.File("config.json"));
        var r = CliRunner.Run("inspect", tmp.Path, "--no-tree", "--no-keys");
        Assert.Equal(0, r.ExitCode);
        var bytes = shards.Where(f => f.EndsWith(".safetensors", StringComparison.Ordinal)).Sum(f => new FileInfo(f).Length);
        Assert.Contains($"weights      model.safetensors.index.json (3 shards, {bytes:N0} bytes)\n", r.StdOut, StringComparison.Ordinal);
    }

    // The HF cache's snapshot files are links to blobs: the weights line gave the links' own size (76 bytes each).
    [Fact]
    public void Inspect_of_a_directory_of_links_gives_the_size_of_the_files_linked()
    {
        using var tmp = TestPaths.TempDir();
        var shards = Directory.GetFiles(Path.Combine(TestPaths.Fixtures, "checkpoints", "sharded"));
        foreach (var f in shards.Append(Path.Combine(HfFixture.Dir("pretraining"), "config.json")))
        {
            File.CreateSymbolicLink(tmp.File(Path.GetFileName(f)), f);
        }
        var r = CliRunner.Run("inspect", tmp.Path, "--no-tree", "--no-keys");
        Assert.True(r.ExitCode == 0, r.StdErr);
        var bytes = shards.Where(f => f.EndsWith(".safetensors", StringComparison.Ordinal)).Sum(f => new FileInfo(f).Length);
        Assert.True(bytes > 400_000);
        Assert.Contains($"weights      model.safetensors.index.json (3 shards, {bytes:N0} bytes)\n", r.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public void Inspect_of_a_missing_directory_is_a_one_line_error()
    {
        var r = CliRunner.Run("inspect", "/nonexistent/model");
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("error: /nonexistent/model: no such directory.", r.StdErr.Trim());
        Assert.Equal("", r.StdOut);
    }
}

public class ConvertCommandTests
{
    [Fact]
    public void Convert_turns_a_legacy_pickle_into_hf_safetensors_in_the_requested_dtype()
    {
        using var tmp = TestPaths.TempDir();
        var outDir = Path.Combine(tmp.Path, "converted");
        var r = CliRunner.Run("convert", HfFixture.Dir("legacy-gamma-beta"), outDir, "--dtype", "bfloat16");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("BertForSequenceClassification", r.StdOut, StringComparison.Ordinal);
        // Same keys/shapes as HF's own safetensors of these weights (sequence-classification/), stored as BF16.
        var ours = BertSharp.Checkpoints.SafeTensors.ReadHeader(Path.Combine(outDir, "model.safetensors"));
        var hf = BertSharp.Checkpoints.SafeTensors.ReadHeader(Path.Combine(HfFixture.Dir("sequence-classification"), "model.safetensors"));
        Assert.Equal(hf.Tensors.Select(t => t.Name + string.Join(",", t.Shape)).Order(StringComparer.Ordinal),
            ours.Tensors.Select(t => t.Name + string.Join(",", t.Shape)).Order(StringComparer.Ordinal));
        Assert.All(ours.Tensors, t => Assert.Equal("BF16", t.DType.Name));
        Assert.True(File.Exists(Path.Combine(outDir, "vocab.txt")));
        var inspect = CliRunner.Run("inspect", outDir, "--no-keys");
        Assert.Contains("torch_dtype                  │ bfloat16", inspect.StdOut, StringComparison.Ordinal);
    }

    // With tie_word_embeddings false the checkpoint's cls.predictions.decoder.weight is a matrix of its own: convert wrote
    // the model without it, under a config.json that still says untied, so HF initialised the decoder at random.
    [Fact]
    public void Convert_refuses_an_untied_mlm_decoder_and_writes_nothing()
    {
        using var tmp = TestPaths.TempDir();
        var src = tmp.File("untied");
        Directory.CreateDirectory(src);
        foreach (var f in Directory.GetFiles(HfFixture.Dir("pretraining")).Where(f => !f.EndsWith(".bin", StringComparison.Ordinal)))
        {
            File.Copy(f, Path.Combine(src, Path.GetFileName(f)));
        }
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(src, "config.json")))!;
        config["tie_word_embeddings"] = false;
        File.WriteAllText(Path.Combine(src, "config.json"), config.ToJsonString());
        CliRunner.Run("convert", src, tmp.File("out")).AssertOneLineError(
            $"{src}: field 'tie_word_embeddings' is false (a masked-LM decoder matrix of its own, cls.predictions.decoder.weight), but BertForPreTraining " +
            "decodes masked tokens with the word-embedding matrix (tied, HF's default) and cannot hold one. Load the encoder alone (BertModel); " +
            "setting the field to true would decode with the word embeddings instead of the trained decoder.");
        Assert.False(Directory.Exists(tmp.File("out")));
    }

    [Fact]
    public void Convert_refuses_to_drop_tensors_and_bad_dtypes()
    {
        using var tmp = TestPaths.TempDir();
        var r = CliRunner.Run("convert", HfFixture.Dir("pretraining"), tmp.File("out"), "--architecture", "BertModel");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("would drop 7 tensor(s)", r.StdErr, StringComparison.Ordinal);
        Assert.Contains("config.json's architecture BertForPreTraining keeps them: leave out --architecture BertModel.", r.StdErr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(tmp.File("out")));
        // The message used to end "pass --architecture." although --architecture had been passed.
        var seq = CliRunner.Run("convert", "--model", HfFixture.Dir("sequence-classification"), "--output", tmp.File("out"), "--architecture", "BertModel");
        seq.AssertOneLineError("converting as BertModel would drop 2 tensor(s) (classifier.bias, classifier.weight); " +
            "config.json's architecture BertForSequenceClassification keeps them: leave out --architecture BertModel.");
        Assert.False(Directory.Exists(tmp.File("out")));
        // config.json itself names a class without the head: the classes that hold classifier.* are named.
        var copy = tmp.File("bare");
        Directory.CreateDirectory(copy);
        foreach (var f in Directory.GetFiles(HfFixture.Dir("sequence-classification")))
        {
            File.Copy(f, Path.Combine(copy, Path.GetFileName(f)));
        }
        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(copy, "config.json")))!;
        config["architectures"] = new System.Text.Json.Nodes.JsonArray("BertModel");
        File.WriteAllText(Path.Combine(copy, "config.json"), config.ToJsonString());
        CliRunner.Run("convert", copy, tmp.File("out")).AssertOneLineError("would drop 2 tensor(s) (classifier.bias, classifier.weight); " +
            "pass --architecture BertForSequenceClassification, BertForTokenClassification or BertForMultipleChoice.");
        // config.json's BertModel differs from the class given, but would drop classifier.* too: not suggested.
        CliRunner.Run("convert", copy, tmp.File("out"), "--architecture", "BertForMaskedLM").AssertOneLineError(
            "converting as BertForMaskedLM would drop 2 tensor(s) (classifier.bias, classifier.weight); " +
            "--architecture BertForMaskedLM has no place for them; pass --architecture BertForSequenceClassification, BertForTokenClassification " +
            "or BertForMultipleChoice.");
        Assert.False(Directory.Exists(tmp.File("out")));
        var bad = CliRunner.Run("convert", HfFixture.Dir("pretraining"), tmp.File("out"), "--dtype", "int8");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("--dtype int8", bad.StdErr, StringComparison.Ordinal);
    }
}
