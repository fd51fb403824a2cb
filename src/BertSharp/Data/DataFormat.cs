namespace BertSharp.Data;

/// <summary>File layouts the readers understand.</summary>
public enum DataFormat
{
    /// <summary>Comma-separated values with RFC 4180 quoting and a header row.</summary>
    Csv,

    /// <summary>Tab-separated values with no quoting (as GLUE writes them: a <c>"</c> is an ordinary character).</summary>
    Tsv,

    /// <summary>One JSON object per line.</summary>
    JsonLines,
}
