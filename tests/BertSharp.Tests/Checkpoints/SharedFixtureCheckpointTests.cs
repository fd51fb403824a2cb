using BertSharp.Checkpoints;
using BertSharp.Runtime;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Checkpoints;

/// <summary>Every checkpoint file of shared/fixtures/hf_bert (skipped when the shared folder is absent).</summary>
public class SharedFixtureCheckpointTests
{
    public SharedFixtureCheckpointTests() => TorchRuntime.EnsureLoaded();

    [SkippableFact]
    public void Every_hf_safetensors_file_reloads_and_resaves_byte_identically()
    {
        var root = TestPaths.RequireShared("fixtures", "hf_bert");
        var files = Directory.GetFiles(root, "*.safetensors", SearchOption.AllDirectories);
        Assert.True(files.Length >= 20, $"expected the hf_bert safetensors files, found {files.Length}");
        using var tmp = TestPaths.TempDir();
        foreach (var f in files)
        {
            var header = SafeTensors.ReadHeader(f);
            var sd = SafeTensors.Load(f);
            SafeTensors.Save(tmp.File("x.safetensors"), sd, header.Metadata);
            Assert.True(File.ReadAllBytes(f).AsSpan().SequenceEqual(File.ReadAllBytes(tmp.File("x.safetensors"))), f);
            SafeTensors.DisposeAll(sd);
        }
    }

    [SkippableFact]
    public void Every_hf_bin_equals_the_safetensors_of_the_same_weights()
    {
        var root = TestPaths.RequireShared("fixtures", "hf_bert");
        (string Bin, string St)[] pairs =
        [
            ("pretraining/pytorch_model.bin", "pretraining/model.safetensors"),
            ("legacy-gamma-beta/pytorch_model.bin", "sequence-classification/model.safetensors"),
        ];
        foreach (var (bin, st) in pairs)
        {
            var b = CheckpointKeys.NormalizeAll(StateDictSource.Load(Path.Combine(root, bin)));
            var s = StateDictSource.Load(Path.Combine(root, st));
            foreach (var (k, t) in s)
            {
                TensorAssert.Identical(t, b[k], bin + ":" + k);
            }
            SafeTensors.DisposeAll(b);
            SafeTensors.DisposeAll(s);
        }
    }
}
