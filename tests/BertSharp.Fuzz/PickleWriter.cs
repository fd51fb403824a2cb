using System.Buffers.Binary;
using System.Text;

namespace BertSharp.Fuzz;

/// <summary>
/// Writes protocol-2 state-dict pickles as torch.save lays them out, with arbitrary storage classes, element counts,
/// offsets, sizes and strides: the views the reader must check against their storages before libtorch builds them.
/// </summary>
public sealed class PickleWriter
{
    private static readonly string[] StorageClasses =
        ["FloatStorage", "HalfStorage", "BFloat16Storage", "LongStorage", "IntStorage", "ByteStorage", "BoolStorage", "DoubleStorage", "ShortStorage", "CharStorage"];

    private readonly MemoryStream _s = new();

    public PickleWriter()
    {
        _s.Write([0x80, 0x02]);
        Global("collections", "OrderedDict");
        _s.Write([(byte)')', (byte)'R']);
    }

    /// <summary>A random state dict: a few storages (some shared by several views), views of any shape, stride and offset.</summary>
    public static byte[] Random(Random r)
    {
        var w = new PickleWriter();
        var storages = 1 + r.Next(4);
        var classes = Enumerable.Range(0, storages).Select(_ => StorageClasses[r.Next(StorageClasses.Length)]).ToArray();
        var numels = Enumerable.Range(0, storages).Select(_ => (long)(r.Next(4) == 0 ? 0 : r.Next(1, 600))).ToArray();
        var tensors = 1 + r.Next(6);
        for (var t = 0; t < tensors; t++)
        {
            var s = r.Next(storages);
            var rank = r.Next(5);
            long Dim() => r.Next(10) switch { 0 => 0, 1 => -1, 2 => long.MaxValue / 3, 3 => 1 << 20, _ => r.Next(1, 12) };
            var size = Enumerable.Range(0, rank).Select(_ => Dim()).ToArray();
            var stride = r.Next(3) == 0 ? Enumerable.Range(0, rank + (r.Next(8) == 0 ? 1 : 0)).Select(_ => Dim()).ToArray() : Contiguous(size);
            var offset = r.Next(6) switch { 0 => -1, 1 => numels[s], 2 => r.Next(0, 1000), _ => 0 };
            w.Tensor($"t{t}", s.ToString(System.Globalization.CultureInfo.InvariantCulture), classes[s], numels[s], offset, size, stride, r.Next(4) == 0);
        }
        return w.ToArray();
    }

    private static long[] Contiguous(long[] size)
    {
        var stride = new long[size.Length];
        long step = 1;
        for (var i = size.Length - 1; i >= 0; i--)
        {
            stride[i] = step;
            step = unchecked(step * Math.Max(1, size[i]));
        }
        return stride;
    }

    public void Tensor(string key, string storage, string storageClass, long numel, long offset, long[] size, long[] stride, bool parameter)
    {
        Str(key);
        if (parameter)
        {
            Global("torch._utils", "_rebuild_parameter");
            _s.WriteByte((byte)'(');
        }
        Global("torch._utils", "_rebuild_tensor_v2");
        _s.WriteByte((byte)'(');
        _s.WriteByte((byte)'(');
        Str("storage");
        Global("torch", storageClass);
        Str(storage);
        Str("cpu");
        Long(numel);
        _s.WriteByte((byte)'t');
        _s.WriteByte((byte)'Q');
        Long(offset);
        Tuple(size);
        Tuple(stride);
        _s.WriteByte(0x89);
        Global("collections", "OrderedDict");
        _s.Write([(byte)')', (byte)'R', (byte)'t', (byte)'R']);
        if (parameter)
        {
            _s.Write([0x88]);
            Global("collections", "OrderedDict");
            _s.Write([(byte)')', (byte)'R', (byte)'t', (byte)'R']);
        }
        _s.WriteByte((byte)'s');
    }

    public byte[] ToArray()
    {
        _s.WriteByte((byte)'.');
        return _s.ToArray();
    }

    private void Tuple(long[] values)
    {
        _s.WriteByte((byte)'(');
        foreach (var v in values)
        {
            Long(v);
        }
        _s.WriteByte((byte)'t');
    }

    private void Global(string module, string name) => _s.Write(Encoding.ASCII.GetBytes($"c{module}\n{name}\n"));

    private void Str(string s)
    {
        var b = Encoding.UTF8.GetBytes(s);
        _s.WriteByte((byte)'X');
        Span<byte> n = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(n, b.Length);
        _s.Write(n);
        _s.Write(b);
    }

    private void Long(long v)
    {
        Span<byte> b = stackalloc byte[10];
        b[0] = 0x8a;
        b[1] = 8;
        BinaryPrimitives.WriteInt64LittleEndian(b[2..], v);
        _s.Write(b);
    }
}
