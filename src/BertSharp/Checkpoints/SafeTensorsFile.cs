using BertSharp.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Checkpoints;

/// <summary>
/// A safetensors file opened for reading tensor by tensor (<see cref="CheckpointTensors"/>): its header is validated and
/// every dtype checked on opening, as <see cref="SafeTensors.Load(string)"/> does before it allocates anything; each tensor
/// is then read from the file straight into the destination's storage when the dtypes match and the destination is a
/// contiguous CPU tensor, else through one temporary of the stored dtype that <c>copy_</c> converts.
/// </summary>
internal sealed class SafeTensorsFile : CheckpointTensors
{
    private readonly FileStream _fs;
    private readonly SafeTensorsHeader _header;

    private SafeTensorsFile(FileStream fs, SafeTensorsHeader header)
    {
        _fs = fs;
        _header = header;
        Keys = [.. header.Tensors.Select(t => t.Name)];
    }

    public static SafeTensorsFile OpenFile(string path)
    {
        TorchRuntime.EnsureLoaded();
        var fs = SafeTensors.Open(path);
        try
        {
            var header = SafeTensorsHeaderParser.Read(path, fs);
            SafeTensors.CheckDTypes(path, header);
            return new SafeTensorsFile(fs, header);
        }
        catch
        {
            fs.Dispose();
            throw;
        }
    }

    public override IReadOnlyCollection<string> Keys { get; }

    public override long[] Shape(string key) => Entry(key).Shape;

    public override ScalarType DType(string key) => Entry(key).DType.ScalarType!.Value;

    public override void CopyInto(string key, Tensor destination)
    {
        var e = Entry(key);
        if (destination.dtype == e.DType.ScalarType && destination.device_type == DeviceType.CPU && destination.is_contiguous())
        {
            SafeTensors.ReadData(_header.Path, _fs, _header.DataStart, e, destination);
            return;
        }
        using var staged = empty(e.Shape, e.DType.ScalarType!.Value);
        SafeTensors.ReadData(_header.Path, _fs, _header.DataStart, e, staged);
        destination.copy_(staged);
    }

    public override void Dispose() => _fs.Dispose();

    private SafeTensorsEntry Entry(string key) =>
        _header.Find(key) ?? throw new KeyNotFoundException($"{_header.Path}: no tensor '{key}'.");
}
