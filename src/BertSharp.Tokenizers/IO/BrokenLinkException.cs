namespace BertSharp.IO;

/// <summary>
/// An output given as a symbolic link that ends nowhere: at nothing, or in a cycle of links. Its path and its problem are
/// kept apart so that a front end can name the path as its user gave it.
/// </summary>
/// <param name="path">The link, as a full path.</param>
/// <param name="problem">What is wrong with it and what was expected, without the path.</param>
public sealed class BrokenLinkException(string path, string problem) : BertSharpException($"{path}: {problem}")
{
    /// <summary>The link, as a full path.</summary>
    public string Path { get; } = path;

    /// <summary>What is wrong with the link and what was expected, without its path.</summary>
    public string Problem { get; } = problem;
}
