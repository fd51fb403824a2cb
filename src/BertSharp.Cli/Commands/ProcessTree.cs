using System.Globalization;

namespace BertSharp.Cli.Commands;

/// <summary>A process's descendants as the kernel lists them (<c>/proc/*/stat</c>); empty where there is no /proc.</summary>
internal static class ProcessTree
{
    /// <summary>Every living descendant of <paramref name="root"/> (children, their children, ...), parents before children.</summary>
    public static List<int> Descendants(int root)
    {
        var children = new Dictionary<int, List<int>>();
        if (!Directory.Exists("/proc"))
        {
            return [];
        }
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && ParentOf(dir) is { } parent)
            {
                if (!children.TryGetValue(parent, out var list))
                {
                    children[parent] = list = [];
                }
                list.Add(pid);
            }
        }
        var found = new List<int>();
        var queue = new Queue<int>([root]);
        while (queue.TryDequeue(out var pid))
        {
            foreach (var child in children.GetValueOrDefault(pid) ?? [])
            {
                found.Add(child);
                queue.Enqueue(child);
            }
        }
        return found;
    }

    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so the fields are counted from the last ')'.
    private static int? ParentOf(string procDir)
    {
        try
        {
            var stat = File.ReadAllText(Path.Combine(procDir, "stat"));
            var fields = stat[(stat.LastIndexOf(')') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return fields.Length > 1 && int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var ppid) ? ppid : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Ended while being read.
            return null;
        }
    }
}
