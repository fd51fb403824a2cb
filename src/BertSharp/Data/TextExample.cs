namespace BertSharp.Data;

/// <summary>
/// One labelled (or unlabelled) text example as read from a data file.
/// </summary>
/// <param name="Text">The first (or only) text segment.</param>
/// <param name="TextPair">The second segment for sentence-pair tasks (MRPC), otherwise null.</param>
/// <param name="Label">
/// The label (a class name, or a number for regression): as written in the file, or the task's name for it (CoLA's 1 is
/// acceptable, see <see cref="LabelText"/>); null when the file has no labels.
/// </param>
/// <param name="Line">1-based line in the source file where the example starts, for error messages.</param>
public sealed record TextExample(string Text, string? TextPair, string? Label, int Line)
{
    /// <summary>The label as written in the file (CoLA's 1, where <see cref="Label"/> is acceptable): messages name what the file holds.</summary>
    public string? LabelText { get => field ?? Label; init; }
}

/// <summary>The examples read from one file, with what is needed to name the file and the label field in errors.</summary>
/// <param name="Path">The file the examples come from.</param>
/// <param name="LabelField">The name of the label column (for messages such as "line 12, column 'label'").</param>
/// <param name="Examples">The examples, in file order.</param>
public sealed record TextDataset(string Path, string LabelField, IReadOnlyList<TextExample> Examples)
{
    /// <summary>Number of examples.</summary>
    public int Count => Examples.Count;

    /// <summary>A dataset with the same origin and a subset of the examples.</summary>
    public TextDataset With(IReadOnlyList<TextExample> examples) => this with { Examples = examples };
}
