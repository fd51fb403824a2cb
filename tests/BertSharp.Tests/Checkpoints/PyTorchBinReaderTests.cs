using BertSharp.Checkpoints;
using BertSharp.Runtime;
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
