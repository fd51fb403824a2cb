using System.Globalization;
using Google.Protobuf;
using Onnx;

namespace BertSharp.Checkpoints.Onnx;

/// <summary>Writes an ONNX graph node by node: initializers, constants, nodes with attributes, typed inputs and outputs.</summary>
internal sealed class OnnxGraphBuilder
{
    private readonly GraphProto _graph = new() { Name = "bertsharp" };
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private int _counter;

    public GraphProto Graph => _graph;

    /// <summary>A fresh value name starting with <paramref name="hint"/>.</summary>
    public string Name(string hint)
    {
        var name = hint;
        while (!_names.Add(name))
        {
            name = Invariant($"{hint}_{++_counter}");
        }
        return name;
    }

    public string Initializer(string name, float[] data, params long[] dims)
    {
        var t = new TensorProto { Name = Name(name), DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan())) };
        t.Dims.AddRange(dims);
        _graph.Initializer.Add(t);
        return t.Name;
    }

    public string Initializer(string name, sbyte[] data, params long[] dims)
    {
        var t = new TensorProto { Name = Name(name), DataType = (int)TensorProto.Types.DataType.Int8, RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan())) };
        t.Dims.AddRange(dims);
        _graph.Initializer.Add(t);
        return t.Name;
    }

    /// <summary>An int64 constant; a scalar when <paramref name="scalar"/> is true, else a vector.</summary>
    public string Int64s(string hint, long[] values, bool scalar = false)
    {
        var t = new TensorProto { Name = Name(hint), DataType = (int)TensorProto.Types.DataType.Int64, RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan())) };
        if (!scalar)
        {
            t.Dims.Add(values.Length);
        }
        _graph.Initializer.Add(t);
        return t.Name;
    }

    public string Scalar(string hint, float value)
    {
        var t = new TensorProto { Name = Name(hint), DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(BitConverter.GetBytes(value)) };
        _graph.Initializer.Add(t);
        return t.Name;
    }

    /// <summary>Adds a node; returns its first output (named after <paramref name="output"/> or the op).</summary>
    public string Node(string op, string[] inputs, string? output = null, string domain = "", params AttributeProto[] attributes) =>
        NodeN(op, inputs, [output ?? op.ToLowerInvariant()], domain, attributes)[0];

    /// <summary>Adds a node with several outputs.</summary>
    public string[] NodeN(string op, string[] inputs, string[] outputs, string domain = "", params AttributeProto[] attributes)
    {
        var names = outputs.Select(Name).ToArray();
        var node = new NodeProto { OpType = op, Name = Name(op + "_node"), Domain = domain };
        node.Input.AddRange(inputs);
        node.Output.AddRange(names);
        node.Attribute.AddRange(attributes);
        _graph.Node.Add(node);
        return names;
    }

    /// <summary>Declares a graph input (its name is reserved: no node output takes it).</summary>
    public void Input(string name, TensorProto.Types.DataType type, params string[] dims)
    {
        if (!_names.Add(name))
        {
            throw new InvalidOperationException($"value name '{name}' is taken");
        }
        _graph.Input.Add(ValueInfo(name, type, dims));
    }

    /// <summary>Declares a node's output as a graph output under exactly <paramref name="name"/>.</summary>
    public void Output(string name, TensorProto.Types.DataType type, params string[] dims) => _graph.Output.Add(ValueInfo(name, type, dims));

    public static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Float(string name, float value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    private static ValueInfoProto ValueInfo(string name, TensorProto.Types.DataType type, string[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
        {
            shape.Dim.Add(long.TryParse(d, CultureInfo.InvariantCulture, out var v) ? new TensorShapeProto.Types.Dimension { DimValue = v } : new TensorShapeProto.Types.Dimension { DimParam = d });
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }
}
