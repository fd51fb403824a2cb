using System.Text;
using BertSharp.Checkpoints;

namespace BertSharp.Fuzz;

/// <summary>
/// The safetensors reader: inputs starting with 'H' are headers (parsed against a data section of the size in their first
/// eight bytes), inputs starting with 'F' whole files (written out, read header-only and loaded). Seeds are the fixture
/// files and their headers.
/// </summary>
public sealed class SafeTensorsTarget : FuzzTarget
{
    public SafeTensorsTarget()
    {
        var dir = Path.Combine(Repo.Fixtures, "checkpoints");
        var seeds = new List<byte[]>();
        foreach (var f in new[] { "dtypes.safetensors", "names.safetensors" })
        {
            seeds.Add([(byte)'F', .. File.ReadAllBytes(Path.Combine(dir, f))]);
        }
        var hf = Path.Combine(Repo.Fixtures, "hf_bert");
        foreach (var f in new[]
                 {
                     Path.Combine(hf, "pretraining", "model.safetensors"), Path.Combine(hf, "sequence-classification", "reference.safetensors"),
                     Path.Combine(dir, "dtypes.safetensors"),
                 })
        {
            var bytes = File.ReadAllBytes(f);
            var n = (int)BitConverter.ToUInt64(bytes, 0);
            seeds.Add([(byte)'H', .. BitConverter.GetBytes((long)(bytes.Length - 8 - n)), .. bytes.AsSpan(8, n)]);
        }
        seeds.Add([(byte)'H', .. BitConverter.GetBytes(8L), .. Encoding.UTF8.GetBytes("""{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""")]);
        Seeds = seeds;
    }

    public override string Name => "safetensors";

    private static readonly string[] DTypes = ["F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL", "U16", "U32", "U64", "F8_E4M3", "F8_E5M2", "X9"];

    private static readonly string[] Names = ["a", "bert.embeddings.word_embeddings.weight", "__metadata__", "é\u0301", "\ud800", "x\u001b[31m", "", "a.b.c", "\\", "\"q\""];

    /// <summary>A third of the inputs are generated files: mostly consistent layouts with a few wrong details.</summary>
    public override byte[] Next(Mutator m)
    {
        if (m.Random.Next(3) != 0)
        {
            return base.Next(m);
        }
        var r = m.Random;
        var json = new StringBuilder("{");
        long cursor = 0;
        var n = r.Next(6);
        if (r.Next(3) == 0)
        {
            json.Append("\"__metadata__\":{\"format\":\"pt\"}");
            if (n > 0)
            {
                json.Append(',');
            }
        }
        for (var i = 0; i < n; i++)
        {
            var dtype = DTypes[r.Next(DTypes.Length)];
            var size = dtype switch { "F64" or "I64" or "U64" => 8, "F32" or "I32" or "U32" => 4, "F16" or "BF16" or "I16" or "U16" => 2, _ => 1 };
            var dims = Enumerable.Range(0, r.Next(4)).Select(_ => (long)r.Next(r.Next(10) == 0 ? 1 << 30 : 5)).ToArray();
            var bytes = dims.Aggregate(1L, (a, b) => a * b) * size;
            var begin = r.Next(8) == 0 ? cursor + r.Next(-2, 3) : cursor;
            var end = r.Next(8) == 0 ? begin + bytes + r.Next(-2, 3) : begin + bytes;
            var name = r.Next(4) == 0 ? Names[r.Next(Names.Length)] : $"t{i}";
            json.Append(i == 0 ? "" : ",").Append('"').Append(name).Append("\":{\"dtype\":\"").Append(dtype).Append("\",\"shape\":[")
                .Append(string.Join(',', dims)).Append("],\"data_offsets\":[").Append(begin).Append(',').Append(end).Append("]}");
            cursor = Math.Max(cursor, end);
        }
        var header = Encoding.UTF8.GetBytes(json.Append('}').ToString());
        var data = new byte[Math.Clamp(cursor + (r.Next(8) == 0 ? r.Next(-3, 4) : 0), 0, 1 << 16)];
        byte[] file = [(byte)'F', .. BitConverter.GetBytes((ulong)header.Length), .. header, .. data];
        return r.Next(4) == 0 ? m.Mutate(file, Seeds) : file;
    }

    public override IReadOnlyList<byte[]> Seeds { get; }

    public override void Run(byte[] input)
    {
        if (input.Length == 0)
        {
            return;
        }
        if (input[0] == (byte)'H')
        {
            if (input.Length < 9)
            {
                return;
            }
            var dataLength = Math.Abs(BitConverter.ToInt64(input, 1) % (1L << 40));
            var header = SafeTensorsHeaderParser.Parse("fuzz.safetensors", input[9..], dataLength);
            foreach (var t in header.Tensors)
            {
                if (header.Find(t.Name) is null || t.End - t.Begin != t.ByteCount)
                {
                    throw new InvariantException($"tensor '{t.Name}' cannot be found again, or its byte count is inconsistent");
                }
            }
            return;
        }
        var path = Path.Combine(Repo.Scratch, "fuzz.safetensors");
        File.WriteAllBytes(path, input[1..]);
        var h = SafeTensors.ReadHeader(path);
        if (h.Tensors.Sum(t => t.ByteCount) > input.Length)
        {
            throw new InvariantException("a validated header claims more tensor bytes than the file has");
        }
        SafeTensors.DisposeAll(SafeTensors.Load(path));
    }
}
