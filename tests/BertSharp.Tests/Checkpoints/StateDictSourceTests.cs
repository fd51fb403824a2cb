using BertSharp.Checkpoints;
using BertSharp.Runtime;
using BertSharp.Tests.Infrastructure;
using static TorchSharp.torch;

namespace BertSharp.Tests.Checkpoints;

public class StateDictSourceTests
{
    public StateDictSourceTests() => TorchRuntime.EnsureLoaded();

    private static string ShardDir => CheckpointFixtures.File("sharded");

    [Fact]
    public void Sharded_checkpoint_loads_the_same_tensors_as_the_single_file()
    {
        var single = SafeTensors.Load(CheckpointFixtures.PretrainingSafeTensors);
        var sharded = StateDictSource.Load(ShardDir);
        Assert.Equal(single.Keys.Order(StringComparer.Ordinal), sharded.Keys.Order(StringComparer.Ordinal));
        foreach (var (k, t) in single)
        {
            TensorAssert.Identical(t, sharded[k], k);
        }
        Assert.Equal(3, ShardIndex.Read(Path.Combine(ShardDir, "model.safetensors.index.json")).Shards.Count);
        SafeTensors.DisposeAll(single);
        SafeTensors.DisposeAll(sharded);
    }

    private static string CopyShards(TempDir tmp)
    {
        foreach (var f in Directory.GetFiles(ShardDir))
        {
            File.Copy(f, tmp.File(Path.GetFileName(f)));
        }
        return tmp.File("model.safetensors.index.json");
    }

    [Fact]
    public void Missing_shard_is_named()
    {
        using var tmp = TestPaths.TempDir();
        CopyShards(tmp);
        File.Delete(tmp.File("model-00002-of-00003.safetensors"));
        var e = Assert.Throws<BertSharpException>(() => StateDictSource.Load(tmp.Path));
        Assert.Contains("model-00002-of-00003.safetensors", e.Message);
        Assert.Contains("missing", e.Message);
    }

    [Theory]
    [InlineData("\"bert.pooler.dense.bias\": \"model-00003-of-00003.safetensors\"", "\"bert.pooler.dense.bias\": \"model-00001-of-00003.safetensors\"", "model-00001-of-00003.safetensors: missing tensor 'bert.pooler.dense.bias'")]
    [InlineData("\"bert.embeddings.LayerNorm.bias\": \"model-00001-of-00003.safetensors\"", "\"bert.embeddings.LayerNorm.bias\": \"model-00003-of-00003.safetensors\"", "tensor 'bert.embeddings.LayerNorm.bias' belongs to shard model-00003-of-00003.safetensors")]
    [InlineData("\"bert.pooler.dense.bias\": \"model-00003-of-00003.safetensors\",", "\"bert.pooler.dense.bias\": \"model-00003-of-00003.safetensors\", \"bert.extra\": \"model-00003-of-00003.safetensors\",", "missing tensor 'bert.extra'")]
    [InlineData("\"bert.pooler.dense.bias\": \"model-00003-of-00003.safetensors\",", "", "'bert.pooler.dense.bias' is not listed in the weight_map")]
    [InlineData("\"bert.pooler.dense.bias\": \"model-00003-of-00003.safetensors\"", "\"bert.pooler.dense.bias\": \"../model-00003-of-00003.safetensors\"", "not a plain file name")]
    [InlineData("\"weight_map\"", "\"weights\"", "expected an object with a \\\"weight_map\\\"")]
    [InlineData("\"bert.pooler.dense.bias\": \"model-00003-of-00003.safetensors\"", "\"bert.pooler.dense.bias\": 3", "is not a file name")]
    public void Lying_index_is_refused(string find, string replace, string expected)
    {
        using var tmp = TestPaths.TempDir();
        var index = CopyShards(tmp);
        var text = File.ReadAllText(index);
        Assert.Contains(find, text);
        File.WriteAllText(index, text.Replace(find, replace, StringComparison.Ordinal));
        var e = Assert.Throws<BertSharpException>(() => StateDictSource.Load(tmp.Path));
        Assert.Contains(expected.Replace("\\\"", "\"", StringComparison.Ordinal), e.Message);
        // A model load opens the shards one by one instead, with the same checks.
        Assert.Equal(e.Message, Assert.Throws<BertSharpException>(() => BertSharp.Checkpoints.CheckpointTensors.Open(tmp.Path).Dispose()).Message);
    }

    [Theory]
    [InlineData("\"bert.pooler.dense.bias\": \"model-00003-of-00003.safetensors\"", "\"bert.pooler.dense.bias\": \"model-00003-of-00003.safetensors\", \"bert.pooler.dense.bias\": \"model-00001-of-00003.safetensors\"", "duplicate key 'weight_map.bert.pooler.dense.bias'.")]
    [InlineData("\"metadata\": {", "\"metadata\": {\"total_size\": 1}, \"metadata\": {", "duplicate key 'metadata'.")]
    [InlineData("\"weight_map\": {", "\"weight_map\": {\"a\": \"model-00001-of-00003.safetensors\"}, \"weight_map\": {", "duplicate key 'weight_map'.")]
    [InlineData("\"total_size\": 452616", "\"total_size\": \"452616\"", "invalid shard index: field 'metadata.total_size': expected a whole number of bytes >= 0, got \"452616\".")]
    [InlineData("\"total_size\": 452616", "\"total_size\": -1", "invalid shard index: field 'metadata.total_size': expected a whole number of bytes >= 0, got -1.")]
    [InlineData("\"metadata\": {", "\"metadata\": [], \"m\": {", "invalid shard index: field 'metadata': expected an object, got [].")]
    public void Index_with_a_duplicate_key_or_a_mistyped_field_is_refused_naming_it(string find, string replace, string expected)
    {
        using var tmp = TestPaths.TempDir();
        var index = tmp.File("model.safetensors.index.json");
        var text = File.ReadAllText(Path.Combine(ShardDir, "model.safetensors.index.json"));
        // A byte count written as a float (as some tools do) is still the same count.
        File.WriteAllText(index, text.Replace("\"total_size\": 452616", "\"total_size\": 452616.0", StringComparison.Ordinal));
        Assert.Equal(452616, ShardIndex.Read(index).TotalSize);
        Assert.Contains(find, text, StringComparison.Ordinal);
        File.WriteAllText(index, text.Replace(find, replace, StringComparison.Ordinal));
        Assert.Equal($"{index}: {expected}", Assert.Throws<BertSharpException>(() => ShardIndex.Read(index)).Message);
    }

    [Fact]
    public void An_index_cut_short_names_the_line_it_ends_on()
    {
        using var tmp = TestPaths.TempDir();
        var index = tmp.File("model.safetensors.index.json");
        // Cut after the second line's break: the data ends on line 3.
        File.WriteAllText(index, "{\n  \"weight_map\": {\"a\": \"model.safetensors\",\n");
        var e = Assert.Throws<BertSharpException>(() => ShardIndex.Read(index));
        Assert.StartsWith($"{index} line 3: not valid JSON (", e.Message, StringComparison.Ordinal);
        Assert.EndsWith("; expected a sharded checkpoint's index (a JSON object with a \"weight_map\").", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Index_that_is_not_utf8_is_refused_naming_the_line()
    {
        using var tmp = TestPaths.TempDir();
        var index = tmp.File("model.safetensors.index.json");
        var bytes = File.ReadAllBytes(Path.Combine(ShardDir, "model.safetensors.index.json"));
        var text = System.Text.Encoding.UTF8.GetString(bytes);
        var at = text.IndexOf("bert.pooler.dense.bias", StringComparison.Ordinal);
        bytes[at] = 0xFF;
        File.WriteAllBytes(index, bytes);
        var line = text[..at].Count(c => c == '\n') + 1;
        Assert.Equal($"{index} line {line}: invalid UTF-8 byte sequence (the file must be UTF-8 text).", Assert.Throws<BertSharpException>(() => ShardIndex.Read(index)).Message);
    }

    [Fact]
    public void Directory_prefers_safetensors_then_index_then_bin()
    {
        using var tmp = TestPaths.TempDir();
        Assert.Contains("no model weights found", Assert.Throws<BertSharpException>(() => StateDictSource.Load(tmp.Path)).Message);
        File.Copy(CheckpointFixtures.PretrainingBin, tmp.File("pytorch_model.bin"));
        Assert.Equal(tmp.File("pytorch_model.bin"), StateDictSource.FindWeightsFile(tmp.Path));
        var fromBin = StateDictSource.Load(tmp.Path);
        Assert.Contains("cls.predictions.decoder.weight", fromBin.Keys); // torch.save keeps tied entries
        CopyShards(tmp);
        Assert.Equal(tmp.File("model.safetensors.index.json"), StateDictSource.FindWeightsFile(tmp.Path));
        var fromIndex = StateDictSource.Load(tmp.Path);
        Assert.DoesNotContain("cls.predictions.decoder.weight", fromIndex.Keys);
        File.Copy(CheckpointFixtures.PretrainingSafeTensors, tmp.File("model.safetensors"));
        Assert.Equal(tmp.File("model.safetensors"), StateDictSource.FindWeightsFile(tmp.Path));
        var fromSt = StateDictSource.Load(tmp.Path);
        Assert.DoesNotContain("cls.predictions.decoder.weight", fromSt.Keys);
        SafeTensors.DisposeAll(fromBin);
        SafeTensors.DisposeAll(fromIndex);
        SafeTensors.DisposeAll(fromSt);
        Assert.Contains("no such file or directory", Assert.Throws<BertSharpException>(() => StateDictSource.Load(tmp.File("nope"))).Message);
    }
}
