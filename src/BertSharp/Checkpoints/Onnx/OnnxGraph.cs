using Onnx;

namespace BertSharp.Checkpoints.Onnx;

/// <summary>
/// An index over an ONNX graph for following it: who produces each value, who consumes it, and which values are constants
/// (initializers and <c>Constant</c> nodes, seen through <c>Identity</c> nodes).
/// </summary>
internal sealed class OnnxGraph
{
    private readonly Dictionary<string, NodeProto> _producer = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<NodeProto>> _consumers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TensorProto> _constants = new(StringComparer.Ordinal);

    public OnnxGraph(GraphProto graph)
    {
        Graph = graph;
        foreach (var t in graph.Initializer)
        {
            _constants[t.Name] = t;
        }
        foreach (var n in graph.Node)
        {
            foreach (var o in n.Output)
            {
                _producer[o] = n;
            }
            foreach (var i in n.Input.Where(i => i.Length > 0))
            {
                if (!_consumers.TryGetValue(i, out var list))
                {
                    _consumers[i] = list = [];
                }
                list.Add(n);
            }
            if (n.OpType == "Constant" && n.Domain is "" or "ai.onnx" && n.Attribute.FirstOrDefault(a => a.Name == "value") is { T: { } value })
            {
                _constants[n.Output[0]] = value;
            }
        }
    }

    public GraphProto Graph { get; }

    public NodeProto? Producer(string value) => _producer.GetValueOrDefault(value);

    public IReadOnlyList<NodeProto> Consumers(string value) => _consumers.TryGetValue(value, out var l) ? l : [];

    /// <summary>The name a value has behind any chain of <c>Identity</c> nodes (exporters alias shared weights that way).</summary>
    public string Resolve(string value)
    {
        for (var guard = 0; guard < 16 && Producer(value) is { OpType: "Identity" } id; guard++)
        {
            value = id.Input[0];
        }
        return value;
    }

    /// <summary>The constant behind <paramref name="value"/> (initializer or Constant node, through Identity), or null.</summary>
    public TensorProto? Constant(string value) => _constants.GetValueOrDefault(Resolve(value));

    /// <summary>The single consumer of <paramref name="value"/> with op type <paramref name="opType"/>, skipping Identity/Dropout/Cast.</summary>
    public NodeProto? NextOfType(string value, string opType)
    {
        foreach (var c in Consumers(value))
        {
            if (c.OpType == opType)
            {
                return c;
            }
            if (c.OpType is "Identity" or "Dropout" && NextOfType(c.Output[0], opType) is { } n)
            {
                return n;
            }
        }
        return null;
    }

    /// <summary>An int or float attribute of <paramref name="node"/>, or null.</summary>
    public static AttributeProto? Attribute(NodeProto node, string name) => node.Attribute.FirstOrDefault(a => a.Name == name);
}
