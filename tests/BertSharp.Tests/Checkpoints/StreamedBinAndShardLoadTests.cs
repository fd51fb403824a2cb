using BertSharp.Checkpoints;
using BertSharp.Checkpoints.PyTorchBin;
using BertSharp.Runtime;
using BertSharp.Tests.Infrastructure;
using static TorchSharp.torch;

namespace BertSharp.Tests.Checkpoints;

/// <summary>
/// A pytorch_model.bin and a sharded checkpoint are read tensor by tensor into the parameters, as a single safetensors file
/// is (StreamedLoadTests): every parameter must hold exactly HF's weights, and every view of a .bin (transposed, offset,
/// sharing a storage, other dtypes) must copy out as the whole-state-dict reader builds it.
/// </summary>
public class StreamedBinAndShardLoadTests
{
    public StreamedBinAndShardLoadTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void Bin_load_streams_every_parameter_with_the_weights_of_the_safetensors_file()
    {
        using var tmp = StreamedLoadCheck.ModelDir(CheckpointFixtures.PretrainingBin);
        using (var opened = BertSharp.Checkpoints.CheckpointTensors.Open(tmp.Path))
        {
            Assert.IsType<PyTorchBinFile>(opened);
        }
        StreamedLoadCheck.AssertSameParameters(tmp.Path, StreamedLoadCheck.PretrainingDir);
    }

    [Fact]
    public void Sharded_load_streams_every_parameter_with_the_weights_of_the_single_file()
    {
        using var tmp = StreamedLoadCheck.ModelDir(Directory.GetFiles(CheckpointFixtures.File("sharded")));
        using (var opened = BertSharp.Checkpoints.CheckpointTensors.Open(tmp.Path))
        {
            Assert.IsType<ShardedTensors>(opened);
            Assert.Equal(SafeTensors.ReadHeader(CheckpointFixtures.PretrainingSafeTensors).Tensors.Select(t => t.Name).Order(StringComparer.Ordinal),
                opened.Keys.Order(StringComparer.Ordinal));
        }
        StreamedLoadCheck.AssertSameParameters(tmp.Path, StreamedLoadCheck.PretrainingDir);
    }

    [Theory]
    [InlineData("dtypes.bin")]
    [InlineData("pretraining")]
    public void Every_tensor_of_a_bin_copies_out_as_the_whole_reader_builds_it(string which)
    {
        var path = which == "pretraining" ? CheckpointFixtures.PretrainingBin : CheckpointFixtures.File(which);
        var whole = PyTorchBinReader.Read(path);
        try
        {
            using var streamed = PyTorchBinReader.OpenTensors(path);
            Assert.Equal(whole.Keys, streamed.Keys);
            foreach (var (key, expected) in whole)
            {
                Assert.Equal(expected.shape, streamed.Shape(key));
                Assert.Equal(expected.dtype, streamed.DType(key));
                using var direct = empty(expected.shape, expected.dtype);
                streamed.CopyInto(key, direct);
                TensorAssert.Identical(expected, direct, key);
                // Into another dtype (and through the storage's temporary) the values are converted as copy_ converts them.
                using var converted = empty(expected.shape, ScalarType.Float64);
                streamed.CopyInto(key, converted);
                using var reference = expected.to_type(ScalarType.Float64);
                TensorAssert.Identical(reference, converted, key);
            }
        }
        finally
        {
            SafeTensors.DisposeAll(whole);
        }
    }
}
