namespace BertSharp.IO;

/// <summary>
/// An error about one path the caller gave (an input that is not there, an output that is a file, a corrupt marker inside
/// an output directory). Its path and its problem are kept apart so that a front end can name the path as its user gave it
/// (the CLI: the flag and the value typed), where the message has the path as the library resolved it.
/// </summary>
public class PathException : BertSharpException
{
    /// <summary>An error about <paramref name="path"/>.</summary>
    /// <param name="path">The path, as the library used it (often a full path).</param>
    /// <param name="problem">What is wrong with it and what was expected, without the path.</param>
    public PathException(string path, string problem) : base($"{path}: {problem}")
    {
        Path = path;
        Problem = problem;
    }

    /// <summary>An error about <paramref name="path"/> that <paramref name="inner"/> caused.</summary>
    /// <param name="path">The path, as the library used it (often a full path).</param>
    /// <param name="problem">What is wrong with it and what was expected, without the path.</param>
    /// <param name="inner">The failure that showed the problem.</param>
    public PathException(string path, string problem, Exception inner) : base($"{path}: {problem}", inner)
    {
        Path = path;
        Problem = problem;
    }

    /// <summary>The path, as the library used it.</summary>
    public string Path { get; }

    /// <summary>What is wrong with the path and what was expected, without the path.</summary>
    public string Problem { get; }
}
