using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace BertSharp.Checkpoints.PyTorchBin;

/// <summary>
/// A pickle interpreter that can build only plain data (numbers, strings, tuples, lists, dicts) plus the few torch
/// objects of a state dict (<see cref="AllowedGlobals"/>). It never imports, looks up or calls anything: globals are
/// matched against a fixed table and become inert descriptors, REDUCE is evaluated here for those descriptors only,
/// and every other object-creating opcode (NEWOBJ, INST, OBJ, EXT*, BUILD on anything but a dict) is refused.
/// Malformed input raises <see cref="BertSharpException"/>; the loop always advances, so it cannot hang, and it never
/// recurses, so nesting cannot overflow the stack. Work and memory are budgeted: every value pushed, every MARK and every
/// new memo entry counts against <see cref="MaxValues"/>, so a small pickle cannot expand into millions of objects.
/// </summary>
internal sealed class RestrictedUnpickler
{
    /// <summary>
    /// The most values (pushes, MARKs, memo entries) one pickle may create. torch.save spends about 30 per tensor, so this
    /// allows a state dict of some 60,000 tensors (BERT-large has under 400) while a bomb stops before ~100 MB of objects.
    /// </summary>
    public const int MaxValues = 2_000_000;

    private static readonly UTF8Encoding StrictUtf8 = new(false, true);

    private readonly string _source;
    private readonly byte[] _data;
    private readonly List<object?> _stack = [];
    private readonly Stack<int> _marks = new();
    private readonly Dictionary<long, object?> _memo = [];
    private readonly Dictionary<string, StorageRef> _storages = new(StringComparer.Ordinal);
    private int _pos;
    private int _opStart;
    private int _values;

    /// <param name="source">How errors name the pickle, e.g. <c>model.bin:archive/data.pkl</c>.</param>
    /// <param name="data">The pickle bytes.</param>
    /// <param name="start">Offset of the pickle in <paramref name="data"/> (the legacy format concatenates several).</param>
    public RestrictedUnpickler(string source, byte[] data, int start = 0)
    {
        _source = source;
        _data = data;
        _pos = start;
    }

    /// <summary>The offset just past the STOP opcode once <see cref="Load"/> has returned.</summary>
    public int Position => _pos;

    /// <summary>The storages the pickle referenced, by key.</summary>
    public IReadOnlyDictionary<string, StorageRef> Storages => _storages;

    public object? Load()
    {
        while (true)
        {
            _opStart = _pos;
            byte op = ReadByte();
            switch (op)
            {
                case 0x80: // PROTO
                    if (ReadByte() > 5)
                    {
                        throw Corrupt("unsupported pickle protocol");
                    }
                    break;
                case 0x95: // FRAME: framing is only a hint for buffered readers
                    ReadBytes(8);
                    break;
                case (byte)'.': // STOP
                    if (_stack.Count != 1 || _marks.Count != 0)
                    {
                        throw Corrupt(Invariant($"STOP with {_stack.Count} values on the stack"));
                    }
                    return _stack[0];

                case (byte)'(': Spend(); _marks.Push(_stack.Count); break;
                case (byte)'0': Pop(); break; // POP
                case (byte)'1': PopMark(); break; // POP_MARK
                case (byte)'2': Push(Peek()); break; // DUP

                case (byte)'N': Push(null); break;
                case 0x88: Push(true); break;
                case 0x89: Push(false); break;
                case (byte)'K': Push((long)ReadByte()); break;
                case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(ReadBytes(2))); break;
                case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4))); break;
                case 0x8a: Push(ReadLong1()); break;
                case (byte)'I': Push(ParseIntLine(ReadLine())); break;
                case (byte)'L': Push(ParseLong(ReadLine().TrimEnd('L'))); break;
                case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(ReadBytes(8))); break;
                case (byte)'F': Push(ParseFloat(ReadLine())); break;

                case (byte)'X': Push(Utf8(ReadBytes(Length(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4)))))); break;
                case 0x8c: Push(Utf8(ReadBytes(ReadByte()))); break;
                case 0x8d: Push(Utf8(ReadBytes(Length(BinaryPrimitives.ReadUInt64LittleEndian(ReadBytes(8)))))); break;
                case (byte)'U': Push(Encoding.Latin1.GetString(ReadBytes(ReadByte()))); break;
                case (byte)'T': Push(Encoding.Latin1.GetString(ReadBytes(Length((ulong)BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4)))))); break;
                case (byte)'C': Push(ReadBytes(ReadByte()).ToArray()); break;
                case (byte)'B': Push(ReadBytes(Length(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4)))).ToArray()); break;
                case 0x8e: Push(ReadBytes(Length(BinaryPrimitives.ReadUInt64LittleEndian(ReadBytes(8)))).ToArray()); break;

                case (byte)')': Push(new PickleTuple([])); break;
                case (byte)'t': Push(new PickleTuple(PopMark())); break;
                case 0x85: Push(new PickleTuple([Pop()])); break;
                case 0x86: { var b = Pop(); var a = Pop(); Push(new PickleTuple([a, b])); break; }
                case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); Push(new PickleTuple([a, b, c])); break; }
                case (byte)']': Push(new List<object?>()); break;
                case (byte)'l': Push(new List<object?>(PopMark())); break;
                case (byte)'a': { var v = Pop(); Expect<List<object?>>(Peek(), "APPEND").Add(v); break; }
                case (byte)'e': { var items = PopMark(); Expect<List<object?>>(Peek(), "APPENDS").AddRange(items); break; }
                case (byte)'}': Push(new PickleDict()); break;
                case (byte)'d': { var items = PopMark(); var d = new PickleDict(); SetItems(d, items); Push(d); break; }
                case (byte)'s': { var v = Pop(); var k = Pop(); SetItems(Expect<PickleDict>(Peek(), "SETITEM"), [k, v]); break; }
                case (byte)'u': { var items = PopMark(); SetItems(Expect<PickleDict>(Peek(), "SETITEMS"), items); break; }

                case (byte)'p': MemoPut(ParseLong(ReadLine())); break;
                case (byte)'q': MemoPut(ReadByte()); break;
                case (byte)'r': MemoPut(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4))); break;
                case 0x94: MemoPut(_memo.Count); break; // MEMOIZE
                case (byte)'g': Push(Memo(ParseLong(ReadLine()))); break;
                case (byte)'h': Push(Memo(ReadByte())); break;
                case (byte)'j': Push(Memo(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4)))); break;

                case (byte)'c': { var module = ReadLine(); var name = ReadLine(); Push(Global(module, name)); break; }
                case 0x93: { var name = Pop() as string; var module = Pop() as string; Push(Global(module ?? throw Corrupt("STACK_GLOBAL module is not a string"), name ?? throw Corrupt("STACK_GLOBAL name is not a string"))); break; }
                case (byte)'R': { var args = Pop(); var callable = Pop(); Push(Reduce(callable, args)); break; }
                case (byte)'b': Build(); break;
                case (byte)'Q': Push(PersistentLoad(Pop())); break;
                case (byte)'P': throw Corrupt("text persistent id (PERSID) is not a torch storage reference");

                case (byte)'i': // INST: module/name inline, then an instantiation — refused by name
                    {
                        var module = ReadLine();
                        var name = ReadLine();
                        throw Refuse($"opcode INST would instantiate '{module}.{name}'");
                    }
                case (byte)'o': throw Refuse("opcode OBJ would instantiate " + Describe(_marks.Count > 0 && _stack.Count > _marks.Peek() ? _stack[_marks.Peek()] : null));
                case 0x81: { Pop(); throw Refuse("opcode NEWOBJ would instantiate " + Describe(Peek())); }
                case 0x92: { Pop(); Pop(); throw Refuse("opcode NEWOBJ_EX would instantiate " + Describe(Peek())); }
                case 0x82: case 0x83: case 0x84: throw Refuse("opcode EXT* would look up a global in the copyreg extension registry");
                default:
                    throw Corrupt($"unsupported pickle opcode 0x{op:x2}");
            }
        }
    }

    private object Global(string module, string name)
    {
        var g = AllowedGlobals.Find(module, name);
        return g ?? throw Refuse($"global '{module}.{name}' is not allowed");
    }

    private object? Reduce(object? callable, object? args)
    {
        if (callable is not PickleGlobal g)
        {
            throw Refuse($"REDUCE calls {Describe(callable)}, which is not an allowed function");
        }
        var a = args as PickleTuple ?? throw Corrupt($"REDUCE arguments for '{g.FullName}' are not a tuple");
        var x = a.Items;
        switch (g.Kind)
        {
            case PickleGlobalKind.OrderedDict:
                if (x.Length == 0)
                {
                    return new PickleDict();
                }
                throw Refuse("collections.OrderedDict is only allowed with no arguments");
            case PickleGlobalKind.RebuildTensorV2 when x.Length is 6 or 7:
            case PickleGlobalKind.RebuildTensor when x.Length == 4:
                {
                    var storage = x[0] as StorageRef ?? throw Corrupt($"{g.Name}: first argument is {Describe(x[0])}, not a storage");
                    var offset = x[1] as long? ?? throw Corrupt($"{g.Name}: storage offset is not an integer");
                    return new TensorRef(storage, offset, Longs(x[2], g.Name, "size"), Longs(x[3], g.Name, "stride"));
                }
            case PickleGlobalKind.RebuildParameter when x.Length == 3:
            case PickleGlobalKind.RebuildParameterWithState when x.Length == 4:
                return x[0] as TensorRef ?? throw Corrupt($"{g.Name}: data is {Describe(x[0])}, not a tensor");
            case PickleGlobalKind.StorageClass:
                throw Refuse($"'{g.FullName}' may only appear in a storage reference, not be called");
            default:
                throw Corrupt(Invariant($"'{g.FullName}' called with {x.Length} arguments"));
        }
    }

    /// <summary>BUILD sets an object's state; a state dict only does that to attach <c>_metadata</c> to its OrderedDict.</summary>
    private void Build()
    {
        var state = Pop();
        var target = Peek();
        if (target is not PickleDict || state is not PickleDict)
        {
            throw Refuse($"BUILD on {Describe(target)} (only an OrderedDict's attributes may be set)");
        }
    }

    /// <summary>torch's persistent id: <c>('storage', StorageClass, key, location, numel)</c>.</summary>
    private StorageRef PersistentLoad(object? pid)
    {
        if (pid is PickleTuple { Items: ["module", ..] })
        {
            throw Refuse("the checkpoint pickles a whole module (its source code), not a state dict");
        }
        if (pid is PickleTuple { Items: ["storage", _, _, _, _, not null] })
        {
            throw Corrupt("storage views of the legacy torch format are not supported");
        }
        // Zip format: ('storage', cls, key, location, numel); legacy format adds view_metadata (None here).
        if (pid is not PickleTuple { Items: ["storage", var cls, string key, string, long numel, ..] t } || t.Length > 6)
        {
            throw Corrupt($"persistent id {Describe(pid)} is not ('storage', torch.*Storage, key, location, numel)");
        }
        if (cls is not PickleGlobal { Kind: PickleGlobalKind.StorageClass } sc)
        {
            throw Refuse($"persistent id names {Describe(cls)} instead of a torch.*Storage class");
        }
        if (numel < 0 || key.Length == 0 || key.Contains('/', StringComparison.Ordinal) || key.Contains('\\', StringComparison.Ordinal) || key.Contains("..", StringComparison.Ordinal))
        {
            throw Corrupt(Invariant($"storage reference '{key}' with {numel} elements is invalid"));
        }
        var s = new StorageRef(key, sc.StorageType!.Value, sc.Name, numel);
        if (_storages.TryGetValue(key, out var existing))
        {
            if (existing != s)
            {
                throw Corrupt(Invariant($"storage '{key}' is referenced as both {existing.ClassName}[{existing.ElementCount}] and {s.ClassName}[{numel}]"));
            }
            return existing;
        }
        _storages[key] = s;
        return s;
    }

    private long[] Longs(object? v, string fn, string what)
    {
        if (v is not PickleTuple t)
        {
            throw Corrupt($"{fn}: {what} is {Describe(v)}, not a tuple");
        }
        var r = new long[t.Items.Length];
        for (int i = 0; i < r.Length; i++)
        {
            r[i] = t.Items[i] as long? ?? throw Corrupt(Invariant($"{fn}: {what}[{i}] is not an integer"));
        }
        return r;
    }

    private void SetItems(PickleDict d, object?[] items)
    {
        if (items.Length % 2 != 0)
        {
            throw Corrupt("odd number of items for a dict");
        }
        for (int i = 0; i < items.Length; i += 2)
        {
            var key = items[i] switch
            {
                string or long or bool or double => items[i]!,
                _ => throw Corrupt($"dict key {Describe(items[i])} is not a string or number"),
            };
            d.Set(key, items[i + 1]);
        }
    }

    private static string Describe(object? v) => v switch
    {
        null => "None",
        PickleGlobal g => $"'{g.FullName}'",
        PickleTuple => "a tuple",
        PickleDict => "a dict",
        List<object?> => "a list",
        StorageRef => "a storage",
        TensorRef => "a tensor",
        string s => $"the string '{(s.Length > 40 ? s[..40] + "…" : s)}'",
        byte[] => "bytes",
        // Said in pickle's (Python's) words: the file's author knows an int, not a .NET Int64.
        long => "an int",
        double => "a float",
        bool => "a bool",
        _ => "a " + v.GetType().Name.ToLowerInvariant(),
    };

    private T Expect<T>(object? v, string op) where T : class =>
        v as T ?? throw Corrupt($"{op} on {Describe(v)}");

    private object? Memo(long key) =>
        _memo.TryGetValue(key, out var v) ? v : throw Corrupt(Invariant($"memo entry {key} is read before it is written"));

    private void Push(object? v)
    {
        Spend();
        _stack.Add(v);
    }

    private void MemoPut(long key)
    {
        var v = Peek();
        if (!_memo.ContainsKey(key))
        {
            Spend();
        }
        _memo[key] = v;
    }

    private void Spend()
    {
        if (++_values > MaxValues)
        {
            throw new BertSharpException(
                Invariant($"{_source}: refused to load: the pickle creates more than {MaxValues:N0} values (limit for a state dict; a pickle bomb?). Nothing from the checkpoint was executed."));
        }
    }

    private object? Peek()
    {
        int floor = _marks.Count > 0 ? _marks.Peek() : 0;
        return _stack.Count > floor ? _stack[^1] : throw Corrupt("stack underflow");
    }

    private object? Pop()
    {
        var v = Peek();
        _stack.RemoveAt(_stack.Count - 1);
        return v;
    }

    private object?[] PopMark()
    {
        if (_marks.Count == 0)
        {
            throw Corrupt("no MARK on the stack");
        }
        int m = _marks.Pop();
        var items = _stack.GetRange(m, _stack.Count - m).ToArray();
        _stack.RemoveRange(m, _stack.Count - m);
        return items;
    }

    private byte ReadByte() => _pos < _data.Length ? _data[_pos++] : throw Corrupt("unexpected end of data");

    private ReadOnlySpan<byte> ReadBytes(int n)
    {
        if (n < 0 || n > _data.Length - _pos)
        {
            throw Corrupt("unexpected end of data");
        }
        var s = _data.AsSpan(_pos, n);
        _pos += n;
        return s;
    }

    private int Length(ulong n) => n <= (ulong)(_data.Length - _pos) ? (int)n : throw Corrupt(Invariant($"length {n} runs past the end of the data"));

    private string ReadLine()
    {
        int nl = Array.IndexOf(_data, (byte)'\n', _pos);
        if (nl < 0)
        {
            throw Corrupt("unterminated text argument");
        }
        var s = Encoding.Latin1.GetString(_data, _pos, nl - _pos);
        _pos = nl + 1;
        return s;
    }

    private long ReadLong1()
    {
        int n = ReadByte();
        if (n > 8)
        {
            throw Corrupt(Invariant($"{n}-byte integer is too large"));
        }
        var b = ReadBytes(n);
        long v = 0;
        for (int i = n - 1; i >= 0; i--)
        {
            v = (v << 8) | b[i];
        }
        if (n is > 0 and < 8 && (b[n - 1] & 0x80) != 0)
        {
            v -= 1L << (8 * n);
        }
        return v;
    }

    private object ParseIntLine(string s) => s switch
    {
        "00" => false,
        "01" => true,
        _ => ParseLong(s),
    };

    private long ParseLong(string s) =>
        long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) ? v : throw Corrupt($"'{s}' is not an integer");

    private double ParseFloat(string s) =>
        double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : throw Corrupt($"'{s}' is not a number");

    private string Utf8(ReadOnlySpan<byte> b)
    {
        try
        {
            return StrictUtf8.GetString(b);
        }
        catch (DecoderFallbackException)
        {
            throw Corrupt("string is not valid UTF-8");
        }
    }

    private BertSharpException Corrupt(string what) => new(Invariant($"{_source}: corrupted pickle at byte {_opStart}: {what}."));

    private BertSharpException Refuse(string what) =>
        new($"{_source}: refused to load: {what}; {AllowedGlobals.Description}. Nothing from the checkpoint was executed.");
}
