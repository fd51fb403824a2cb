using System.IO.Compression;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Checkpoints.PyTorchBin;

/// <summary>
/// A torch zip checkpoint opened for reading tensor by tensor (<see cref="CheckpointTensors"/>), after
/// <see cref="PyTorchBinReader.OpenTensors"/> has validated its pickle, storage entries and views. A tensor that is its
/// whole storage in order (as nearly every tensor of a <c>torch.save(state_dict())</c> is) goes from its zip entry straight
/// into a contiguous CPU destination of its dtype; any other view, or another destination, goes through one temporary of
/// its storage.
/// </summary>
internal sealed class PyTorchBinFile : CheckpointTensors
{
    private readonly string _path;
    private readonly FileStream _fs;
    private readonly ZipArchive _zip;
    private readonly string _prefix;
    private readonly Dictionary<string, TensorRef> _refs;

    internal PyTorchBinFile(string path, FileStream fs, ZipArchive zip, string prefix, List<(string Key, TensorRef Ref)> refs)
    {
        _path = path;
        _fs = fs;
        _zip = zip;
        _prefix = prefix;
        _refs = refs.ToDictionary(r => r.Key, r => r.Ref, StringComparer.Ordinal);
        Keys = [.. refs.Select(r => r.Key)];
    }

    public override IReadOnlyCollection<string> Keys { get; }

    public override long[] Shape(string key) => Ref(key).Size;

    public override ScalarType DType(string key) => Ref(key).Storage.DType;

    public override void CopyInto(string key, Tensor destination)
    {
        var r = Ref(key);
        PyTorchBinReader.Zip(_path, () =>
        {
            if (destination.dtype == r.Storage.DType && destination.device_type == DeviceType.CPU && destination.is_contiguous() && IsWholeStorage(r))
            {
                using var flat = destination.view(-1);
                PyTorchBinReader.ReadStorageInto(_path, _zip, _prefix, key, r.Storage, flat);
                return true;
            }
            using var storage = empty(r.Storage.ElementCount, r.Storage.DType);
            PyTorchBinReader.ReadStorageInto(_path, _zip, _prefix, key, r.Storage, storage);
            using var view = storage.as_strided(r.Size, r.Stride, r.Offset);
            destination.copy_(view);
            return true;
        });
    }

    public override void Dispose()
    {
        _zip.Dispose();
        _fs.Dispose();
    }

    /// <summary>Whether the view reads every element of its storage once, in storage order (row-major, offset 0).</summary>
    private static bool IsWholeStorage(TensorRef r)
    {
        long expected = 1;
        for (int i = r.Size.Length - 1; i >= 0; i--)
        {
            // A dimension of one element is never stepped along, so its stride is free.
            if (r.Size[i] != 1 && r.Stride[i] != expected)
            {
                return false;
            }
            expected *= r.Size[i];
        }
        return r.Offset == 0 && expected == r.Storage.ElementCount;
    }

    private TensorRef Ref(string key) =>
        _refs.GetValueOrDefault(key) ?? throw new KeyNotFoundException($"{_path}: no tensor '{key}'.");
}
