using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace BertSharp.Tests.Hardening;

/// <summary>
/// Writes torch-style zip archives byte by byte, so tests can build what no well-behaved zip library would: several
/// central-directory entries pointing at one local entry, deflated storages, pickles of any content.
/// </summary>
public sealed class TorchZipWriter
{
    private readonly MemoryStream _body = new();
    private readonly List<(string Name, long Offset, bool Deflated, uint Crc, long Compressed, long Length)> _central = [];

    /// <summary>Adds a local entry (stored, or deflated) and its central-directory record.</summary>
    /// <returns>The local header's offset, for <see cref="Alias"/>.</returns>
    /// <param name="name">The entry's name.</param>
    /// <param name="data">Its uncompressed bytes.</param>
    /// <param name="deflate">Deflate them (else stored).</param>
    /// <param name="crc">The CRC-32 to record instead of the data's (0: none recorded, as torch writes with CRC-32 off).</param>
    public long Add(string name, byte[] data, bool deflate = false, uint? crc = null)
    {
        var payload = deflate ? Deflate(data) : data;
        var offset = _body.Length;
        var recorded = crc ?? Crc32(data);
        var n = Encoding.UTF8.GetBytes(name);
        Span<byte> h = stackalloc byte[30];
        BinaryPrimitives.WriteUInt32LittleEndian(h, 0x04034b50);
        BinaryPrimitives.WriteUInt16LittleEndian(h[4..], 20);
        BinaryPrimitives.WriteUInt16LittleEndian(h[8..], (ushort)(deflate ? 8 : 0));
        BinaryPrimitives.WriteUInt32LittleEndian(h[14..], recorded);
        BinaryPrimitives.WriteUInt32LittleEndian(h[18..], (uint)payload.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(h[22..], (uint)data.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(h[26..], (ushort)n.Length);
        _body.Write(h);
        _body.Write(n);
        _body.Write(payload);
        _central.Add((name, offset, deflate, recorded, payload.Length, data.Length));
        return offset;
    }

    /// <summary>Another central-directory record named <paramref name="name"/> for the entry at <paramref name="ofEntry"/>'s offset.</summary>
    public void Alias(string name, string ofEntry)
    {
        var e = _central.First(c => c.Name == ofEntry);
        _central.Add(e with { Name = name });
    }

    public void Save(string path)
    {
        using var f = File.Create(path);
        _body.Position = 0;
        _body.CopyTo(f);
        var cdStart = f.Position;
        Span<byte> h = stackalloc byte[46];
        foreach (var (name, offset, deflated, crc, compressed, length) in _central)
        {
            h.Clear();
            var n = Encoding.UTF8.GetBytes(name);
            BinaryPrimitives.WriteUInt32LittleEndian(h, 0x02014b50);
            BinaryPrimitives.WriteUInt16LittleEndian(h[4..], 20);
            BinaryPrimitives.WriteUInt16LittleEndian(h[6..], 20);
            BinaryPrimitives.WriteUInt16LittleEndian(h[10..], (ushort)(deflated ? 8 : 0));
            BinaryPrimitives.WriteUInt32LittleEndian(h[16..], crc);
            BinaryPrimitives.WriteUInt32LittleEndian(h[20..], (uint)compressed);
            BinaryPrimitives.WriteUInt32LittleEndian(h[24..], (uint)length);
            BinaryPrimitives.WriteUInt16LittleEndian(h[28..], (ushort)n.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(h[42..], (uint)offset);
            f.Write(h);
            f.Write(n);
        }
        var cdSize = f.Position - cdStart;
        Span<byte> end = stackalloc byte[22];
        BinaryPrimitives.WriteUInt32LittleEndian(end, 0x06054b50);
        BinaryPrimitives.WriteUInt16LittleEndian(end[8..], (ushort)_central.Count);
        BinaryPrimitives.WriteUInt16LittleEndian(end[10..], (ushort)_central.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(end[12..], (uint)cdSize);
        BinaryPrimitives.WriteUInt32LittleEndian(end[16..], (uint)cdStart);
        f.Write(end);
    }

    private static byte[] Deflate(byte[] data)
    {
        using var ms = new MemoryStream();
        using (var d = new DeflateStream(ms, CompressionLevel.Optimal, leaveOpen: true))
        {
            d.Write(data);
        }
        return ms.ToArray();
    }

    /// <summary>The zip (IEEE) CRC-32.</summary>
    public static uint Crc32(ReadOnlySpan<byte> data) => System.IO.Hashing.Crc32.HashToUInt32(data);
}

/// <summary>A protocol-2 pickle of a torch state dict, written opcode by opcode (as torch.save lays it out).</summary>
public sealed class StateDictPickle
{
    private readonly MemoryStream _s = new();

    public StateDictPickle()
    {
        _s.Write([0x80, 0x02]);
        Global("collections", "OrderedDict");
        _s.Write([(byte)')', (byte)'R']);
    }

    /// <summary>Appends <c>key → FloatStorage[storageKey] viewed as [numel]</c>, or as the row-major <paramref name="size"/>.</summary>
    public StateDictPickle Tensor(string key, string storageKey, long numel, string storageClass = "FloatStorage", long[]? size = null)
    {
        Str(key);
        TensorV2(storageKey, numel, storageClass, size);
        _s.WriteByte((byte)'s');
        return this;
    }

    /// <summary>
    /// Appends <c>key → torch._utils._rebuild_tensor(FloatStorage[storageKey], offset, size, stride)</c>: the four-argument
    /// form (no requires_grad, no backward hooks) of the files torch wrote before _rebuild_tensor_v2.
    /// </summary>
    public StateDictPickle OldTensor(string key, string storageKey, long numel, long offset, long[] size, long[] stride)
    {
        Str(key);
        Global("torch._utils", "_rebuild_tensor");
        _s.WriteByte((byte)'(');
        Storage(storageKey, numel, "FloatStorage");
        Long(offset);
        Tuple(size);
        Tuple(stride);
        _s.Write([(byte)'t', (byte)'R', (byte)'s']);
        return this;
    }

    /// <summary>
    /// Appends <c>key → torch._utils._rebuild_parameter_with_state(FloatStorage[storageKey] viewed as [numel], True,
    /// OrderedDict(), {attribute: value})</c>: how nn.Parameter pickles itself when it carries attributes of its own.
    /// </summary>
    public StateDictPickle ParameterWithState(string key, string storageKey, long numel, string attribute, string value)
    {
        Str(key);
        Global("torch._utils", "_rebuild_parameter_with_state");
        _s.WriteByte((byte)'(');
        TensorV2(storageKey, numel, "FloatStorage");
        _s.WriteByte(0x88);
        Global("collections", "OrderedDict");
        _s.Write([(byte)')', (byte)'R', (byte)'}']);
        Str(attribute);
        Str(value);
        _s.Write([(byte)'s', (byte)'t', (byte)'R', (byte)'s']);
        return this;
    }

    public byte[] ToArray()
    {
        _s.WriteByte((byte)'.');
        return _s.ToArray();
    }

    private void TensorV2(string storageKey, long numel, string storageClass, long[]? size = null)
    {
        Global("torch._utils", "_rebuild_tensor_v2");
        _s.WriteByte((byte)'(');
        Storage(storageKey, numel, storageClass);
        Long(0);
        if (size is null)
        {
            Long(numel);
            _s.WriteByte(0x85);
            Long(1);
            _s.WriteByte(0x85);
        }
        else
        {
            Tuple(size);
            var stride = new long[size.Length];
            long step = 1;
            for (int i = size.Length - 1; i >= 0; i--)
            {
                stride[i] = step;
                step *= size[i];
            }
            Tuple(stride);
        }
        _s.WriteByte(0x89);
        Global("collections", "OrderedDict");
        _s.Write([(byte)')', (byte)'R', (byte)'t', (byte)'R']);
    }

    private void Storage(string storageKey, long numel, string storageClass)
    {
        _s.WriteByte((byte)'(');
        Str("storage");
        Global("torch", storageClass);
        Str(storageKey);
        Str("cpu");
        Long(numel);
        _s.WriteByte((byte)'t');
        _s.WriteByte((byte)'Q');
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
