using BertSharp.Checkpoints;
using BertSharp.Runtime;
using BertSharp.Tests.Hardening;
using BertSharp.Tests.Infrastructure;
using static TorchSharp.torch;

namespace BertSharp.Tests.Checkpoints;

public class PyTorchBinReaderTests
{
    public PyTorchBinReaderTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void Pretraining_bin_equals_the_safetensors_weights_and_keeps_tied_entries_sharing_memory()
    {
        var bin = PyTorchBinReader.Read(CheckpointFixtures.PretrainingBin);
        var st = SafeTensors.Load(CheckpointFixtures.PretrainingSafeTensors);
        foreach (var (k, t) in st)
        {
            TensorAssert.Identical(t, bin[k], k);
        }
        // model.safetensors drops the tied duplicates; the .bin has them as views of the same storage.
        Assert.Equal(new[] { "cls.predictions.decoder.bias", "cls.predictions.decoder.weight" },
            bin.Keys.Except(st.Keys).Order(StringComparer.Ordinal));
        TensorAssert.Identical(st["bert.embeddings.word_embeddings.weight"], bin["cls.predictions.decoder.weight"], "decoder");
        TensorAssert.Identical(st["cls.predictions.bias"], bin["cls.predictions.decoder.bias"], "decoder.bias");
        bin["bert.embeddings.word_embeddings.weight"][0, 0] = tensor(123.0f);
        Assert.Equal(123.0f, bin["cls.predictions.decoder.weight"][0, 0].item<float>());
        // Same key order as the pickle (state_dict order), which the manifest lists.
        Assert.Equal("bert.embeddings.word_embeddings.weight", bin.Keys.First());
        SafeTensors.DisposeAll(bin);
        SafeTensors.DisposeAll(st);
    }

    [Fact]
    public void Legacy_gamma_beta_bin_normalises_to_the_sequence_classification_weights()
    {
        var raw = PyTorchBinReader.Read(CheckpointFixtures.LegacyBin);
        Assert.Contains("bert.embeddings.LayerNorm.gamma", raw.Keys);
        Assert.Contains("bert.encoder.layer.1.output.LayerNorm.beta", raw.Keys);
        var bin = CheckpointKeys.NormalizeAll(raw, CheckpointFixtures.LegacyBin);
        var st = SafeTensors.Load(CheckpointFixtures.SeqClsSafeTensors);
        Assert.Equal(st.Keys.Order(StringComparer.Ordinal), bin.Keys.Order(StringComparer.Ordinal));
        foreach (var (k, t) in st)
        {
            TensorAssert.Identical(t, bin[k], k);
        }
        SafeTensors.DisposeAll(raw);
        SafeTensors.DisposeAll(st);
    }

    [Fact]
    public void Legacy_bin_through_StateDictSource()
    {
        using var tmp = TestPaths.TempDir();
        File.Copy(CheckpointFixtures.LegacyBin, tmp.File("pytorch_model.bin"));
        var sd = StateDictSource.Load(tmp.Path);
        Assert.Equal(new long[] { 3, 64 }, sd["classifier.weight"].shape);
        SafeTensors.DisposeAll(sd);
    }
}

public class PyTorchBinDTypeTests
{
    public PyTorchBinDTypeTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void Half_bfloat16_long_storages_and_strided_views_load_with_the_hand_written_values()
    {
        var sd = PyTorchBinReader.Read(CheckpointFixtures.File("dtypes.bin"));
        Assert.Equal(ScalarType.Float16, sd["half"].dtype);
        Assert.Equal(new[] { 1f, -2.5f, 0.5f, 2f, 3f, 4f }, sd["half"].to_type(ScalarType.Float32).reshape(-1).data<float>().ToArray());
        Assert.Equal(ScalarType.BFloat16, sd["brain"].dtype);
        Assert.Equal(new[] { 1f, -2.5f, 3.140625f }, sd["brain"].to_type(ScalarType.Float32).data<float>().ToArray());
        Assert.Equal(new[] { 5L, -6L, 1L << 40 }, sd["long"].data<long>().ToArray());
        Assert.Equal(new long[] { 3, 2 }, sd["matrix_t"].shape);
        Assert.Equal(new[] { 0f, 3f, 1f, 4f, 2f, 5f }, sd["matrix_t"].contiguous().reshape(-1).data<float>().ToArray());
        Assert.Equal(new[] { 4f, 5f }, sd["tail"].data<float>().ToArray());
        Assert.Equal(new[] { 1f, 3f }, sd["param"].contiguous().data<float>().ToArray());
        SafeTensors.DisposeAll(sd);
    }

    [Fact]
    public void Old_rebuild_tensor_and_a_parameter_with_state_load_their_views()
    {
        // torch before _rebuild_tensor_v2 pickled four arguments; a Parameter with attributes of its own adds a state
        // argument. Both are ordinary pytorch_model.bin layouts, not refusals.
        using var tmp = TestPaths.TempDir();
        var zip = new TorchZipWriter();
        zip.Add("archive/data.pkl", new StateDictPickle()
            .OldTensor("old", "0", 6, offset: 1, size: [2, 2], stride: [1, 2])
            .ParameterWithState("param", "0", 6, "note", "kept")
            .ToArray());
        zip.Add("archive/data/0", new[] { 0f, 1f, 2f, 3f, 4f, 5f }.SelectMany(BitConverter.GetBytes).ToArray());
        zip.Save(tmp.File("w.bin"));
        var sd = PyTorchBinReader.Read(tmp.File("w.bin"));
        Assert.Equal(new long[] { 2, 2 }, sd["old"].shape);
        Assert.Equal(new[] { 1f, 3f, 2f, 4f }, sd["old"].contiguous().reshape(-1).data<float>().ToArray());
        Assert.Equal(new[] { 0f, 1f, 2f, 3f, 4f, 5f }, sd["param"].data<float>().ToArray());
        SafeTensors.DisposeAll(sd);
    }

    [Fact]
    public void Bin_converts_to_safetensors_and_back_unchanged()
    {
        var sd = PyTorchBinReader.Read(CheckpointFixtures.File("dtypes.bin"));
        using var tmp = TestPaths.TempDir();
        SafeTensors.Save(tmp.File("x.safetensors"), sd);
        var back = SafeTensors.Load(tmp.File("x.safetensors"));
        foreach (var (k, t) in sd)
        {
            TensorAssert.Identical(t, back[k], k);
        }
        SafeTensors.DisposeAll(sd);
        SafeTensors.DisposeAll(back);
    }
}
