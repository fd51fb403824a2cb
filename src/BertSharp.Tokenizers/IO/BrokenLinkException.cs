namespace BertSharp.IO;

/// <summary>An output given as a symbolic link that ends nowhere: at nothing, or in a cycle of links.</summary>
/// <param name="path">The link, as a full path.</param>
/// <param name="problem">What is wrong with it and what was expected, without the path.</param>
public sealed class BrokenLinkException(string path, string problem) : PathException(path, problem);
