using BertSharp.Checkpoints;
using BertSharp.Modeling;
using BertSharp.Runtime;
using BertSharp.Tests.Infrastructure;
using static TorchSharp.torch;

namespace BertSharp.Tests.Checkpoints;

/// <summary>
/// BertPretrained.Load reads a single safetensors file tensor by tensor into the parameters instead of loading a whole
/// state dict first: every parameter must still hold exactly the stored weights, checked against the same weights as HF
/// wrote them to pytorch_model.bin (read through the pickle reader; StreamedBinAndShardLoadTests checks that load).
/// </summary>
public class StreamedLoadTests
{
    public StreamedLoadTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void Safetensors_load_gives_every_parameter_the_weights_of_the_bin_file()
    {
        using var bin = StreamedLoadCheck.ModelDir(CheckpointFixtures.PretrainingBin);
        StreamedLoadCheck.AssertSameParameters(StreamedLoadCheck.PretrainingDir, bin.Path);
    }

    [Fact]
    public void Half_precision_safetensors_are_converted_into_float32_parameters()
    {
        using var tmp = StreamedLoadCheck.ModelDir();
        var stored = SafeTensors.Load(CheckpointFixtures.PretrainingSafeTensors);
        try
        {
            var half = stored.ToDictionary(kv => kv.Key, kv => kv.Value.to_type(ScalarType.Float16));
            SafeTensors.Save(tmp.File("model.safetensors"), half);
            SafeTensors.DisposeAll(half);
            using var model = BertPretrained.Load<BertForPreTraining>(tmp.Path, out var report);
            Assert.Equal(["Float16"], report.SourceDtypes);
            var byName = model.NamedParameters().ToDictionary(p => p.Name, p => p.Param);
            foreach (var (key, t) in stored)
            {
                if (byName.TryGetValue(key, out var p))
                {
                    using var rounded = t.to_type(ScalarType.Float16).to_type(ScalarType.Float32);
                    TensorAssert.Identical(rounded, p, key);
                }
            }
            Assert.True(byName.Keys.Count(stored.ContainsKey) > 20);
        }
        finally
        {
            SafeTensors.DisposeAll(stored);
        }
    }
}
