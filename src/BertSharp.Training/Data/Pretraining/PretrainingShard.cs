using System.Buffers.Binary;

namespace BertSharp.Data.Pretraining;

/// <summary>
/// The binary shard format (little-endian): header <c>"BSPD" u16 version=1, u8 id_width, u8 0, u32 count</c>; per
/// instance <c>u16 length, u16 segment_a_length, u8 is_random_next, u8 n_pred, ids[length], u16 positions[n_pred],
/// labels[n_pred]</c> (ids and labels id_width bytes each); footer <c>u32</c> CRC-32 of everything before it.
/// </summary>
internal static class PretrainingShard
{
    private static ReadOnlySpan<byte> Magic => "BSPD"u8;

    private const int HeaderBytes = 12;

    /// <summary>Encodes <paramref name="instances"/> into one shard.</summary>
    public static byte[] Encode(IReadOnlyList<PretrainingInstance> instances, int idWidth)
    {
        ArgumentNullException.ThrowIfNull(instances);
        var size = HeaderBytes + 4;
        foreach (var x in instances)
        {
            size += 6 + (x.Length * idWidth) + (x.MaskedPositions.Length * (2 + idWidth));
        }
        var buf = new byte[size];
        Magic.CopyTo(buf);
        BinaryPrimitives.WriteUInt16LittleEndian(buf.AsSpan(4), 1);
        buf[6] = (byte)idWidth;
        BinaryPrimitives.WriteUInt32LittleEndian(buf.AsSpan(8), (uint)instances.Count);
        var p = HeaderBytes;
        foreach (var x in instances)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(buf.AsSpan(p), checked((ushort)x.Length));
            BinaryPrimitives.WriteUInt16LittleEndian(buf.AsSpan(p + 2), checked((ushort)x.SegmentALength));
            buf[p + 4] = x.IsRandomNext ? (byte)1 : (byte)0;
            buf[p + 5] = checked((byte)x.MaskedPositions.Length);
            p += 6;
            foreach (var id in x.InputIds)
            {
                p = WriteId(buf, p, id, idWidth);
            }
            foreach (var pos in x.MaskedPositions)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(buf.AsSpan(p), checked((ushort)pos));
                p += 2;
            }
            foreach (var id in x.MaskedLabels)
            {
                p = WriteId(buf, p, id, idWidth);
            }
        }
        BinaryPrimitives.WriteUInt32LittleEndian(buf.AsSpan(p), System.IO.Hashing.Crc32.HashToUInt32(buf.AsSpan(0, p)));
        return buf;
    }

    /// <summary>Decodes a shard, verifying its CRC and structure; <paramref name="name"/> is used in error messages.</summary>
    public static PretrainingInstance[] Decode(ReadOnlySpan<byte> data, string name, int vocabSize)
    {
        if (data.Length < HeaderBytes + 4 || !data[..4].SequenceEqual(Magic))
        {
            throw new BertSharpException($"{name}: not a pre-training shard (bad header).");
        }
        var stored = BinaryPrimitives.ReadUInt32LittleEndian(data[^4..]);
        var actual = System.IO.Hashing.Crc32.HashToUInt32(data[..^4]);
        if (stored != actual)
        {
            throw new BertSharpException($"{name}: CRC mismatch (stored {stored:x8}, computed {actual:x8}); the shard is corrupt, rebuild it with PretrainingDataBuilder.");
        }
        var version = BinaryPrimitives.ReadUInt16LittleEndian(data[4..]);
        int idWidth = data[6];
        if (version != 1 || idWidth is not (2 or 4))
        {
            throw new BertSharpException(Invariant($"{name}: unsupported shard version {version} / id width {idWidth}."));
        }
        var count = BinaryPrimitives.ReadUInt32LittleEndian(data[8..]);
        var body = data[..^4];
        var result = new PretrainingInstance[count];
        var p = HeaderBytes;
        for (var n = 0; n < count; n++)
        {
            Need(body, p, 6, name);
            int length = BinaryPrimitives.ReadUInt16LittleEndian(body[p..]);
            int segA = BinaryPrimitives.ReadUInt16LittleEndian(body[(p + 2)..]);
            var random = body[p + 4] != 0;
            int nPred = body[p + 5];
            p += 6;
            Need(body, p, (length * idWidth) + (nPred * (2 + idWidth)), name);
            var ids = new int[length];
            for (var i = 0; i < length; i++, p += idWidth)
            {
                ids[i] = ReadId(body, p, idWidth, vocabSize, name);
            }
            var positions = new int[nPred];
            for (var i = 0; i < nPred; i++, p += 2)
            {
                positions[i] = BinaryPrimitives.ReadUInt16LittleEndian(body[p..]);
                if (positions[i] >= length)
                {
                    throw new BertSharpException(Invariant($"{name}: instance {n} has masked position {positions[i]} beyond its length {length}."));
                }
            }
            var labels = new int[nPred];
            for (var i = 0; i < nPred; i++, p += idWidth)
            {
                labels[i] = ReadId(body, p, idWidth, vocabSize, name);
            }
            if (segA > length)
            {
                throw new BertSharpException(Invariant($"{name}: instance {n} has segment A length {segA} beyond its length {length}."));
            }
            result[n] = new PretrainingInstance(ids, segA, random, positions, labels);
        }
        if (p != body.Length)
        {
            throw new BertSharpException(Invariant($"{name}: {body.Length - p} trailing bytes after {count} instances."));
        }
        return result;
    }

    private static void Need(ReadOnlySpan<byte> body, int p, int bytes, string name)
    {
        if (p + bytes > body.Length)
        {
            throw new BertSharpException(Invariant($"{name}: truncated shard (needs {p + bytes} bytes, has {body.Length})."));
        }
    }

    private static int WriteId(byte[] buf, int p, int id, int idWidth)
    {
        if (idWidth == 2)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(buf.AsSpan(p), checked((ushort)id));
        }
        else
        {
            BinaryPrimitives.WriteInt32LittleEndian(buf.AsSpan(p), id);
        }
        return p + idWidth;
    }

    private static int ReadId(ReadOnlySpan<byte> body, int p, int idWidth, int vocabSize, string name)
    {
        var id = idWidth == 2 ? BinaryPrimitives.ReadUInt16LittleEndian(body[p..]) : BinaryPrimitives.ReadInt32LittleEndian(body[p..]);
        if ((uint)id >= (uint)vocabSize)
        {
            throw new BertSharpException(Invariant($"{name}: token id {id} is outside the vocabulary (size {vocabSize})."));
        }
        return id;
    }
}
