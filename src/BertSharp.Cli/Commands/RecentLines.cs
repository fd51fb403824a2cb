namespace BertSharp.Cli.Commands;

/// <summary>
/// The most recent <paramref name="capacity"/> distinct lines: adding one more forgets the line added or seen again least
/// recently, so the memory of a job that prints for days stays bounded.
/// </summary>
/// <param name="capacity">How many distinct lines are remembered (at least 1).</param>
internal sealed class RecentLines(int capacity)
{
    private readonly LinkedList<string> _order = [];
    private readonly Dictionary<string, LinkedListNode<string>> _nodes = new(StringComparer.Ordinal);

    /// <summary>Remembers <paramref name="line"/> as the most recent one.</summary>
    public void Add(string line)
    {
        if (_nodes.TryGetValue(line, out var node))
        {
            _order.Remove(node);
            _order.AddLast(node);
            return;
        }
        _nodes[line] = _order.AddLast(line);
        if (_order.Count > capacity)
        {
            _nodes.Remove(_order.First!.Value);
            _order.RemoveFirst();
        }
    }

    /// <summary>True when <paramref name="line"/> is one of the remembered lines.</summary>
    public bool Contains(string line) => _nodes.ContainsKey(line);
}
