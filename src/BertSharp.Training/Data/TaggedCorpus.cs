using System.Globalization;
using System.Text;
using System.Text.Json;

namespace BertSharp.Data;

/// <summary>One sentence of a token-classification corpus: its words and one tag per word.</summary>
/// <param name="Words">The words (pre-split, as the file gives them).</param>
/// <param name="Tags">One tag per word (e.g. B-PER, I-PER, O).</param>
/// <param name="Line">1-based line of the sentence's first word in its file (for messages).</param>
public sealed record TaggedSentence(IReadOnlyList<string> Words, IReadOnlyList<string> Tags, int Line);

/// <summary>
/// Reads token-classification data: CoNLL-2003 column files (one <c>word … tag</c> line per word, the word first and the
/// tag last, a blank line between sentences, <c>-DOCSTART-</c> lines skipped) and JSON lines
/// (<c>{"tokens": [...], "ner_tags": [...]}</c>, <c>tags</c> accepted for <c>ner_tags</c>; integer tags are indices into a
/// label list). Every problem is a <see cref="BertSharpException"/> naming the file and the line.
/// </summary>
public static class TaggedCorpus
{
    /// <summary>Whether <paramref name="path"/> is read as JSON lines (by its name: .jsonl or .json, optionally .gz).</summary>
    public static bool IsJsonLines(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var name = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? path[..^3] : path;
        return name.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".json", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Reads a CoNLL or JSON-lines file (by its name, <see cref="IsJsonLines"/>).</summary>
    /// <param name="path">The file (.gz is decompressed).</param>
    /// <param name="labelNames">Tag names by index, for JSON lines with integer tags; null when the tags are strings.</param>
    /// <param name="warnings">Receives a line about what the file holds that is left out (JSON lines without tokens); null to leave it unsaid.</param>
    public static List<TaggedSentence> Read(string path, IReadOnlyList<string>? labelNames = null, ICollection<string>? warnings = null)
    {
        var text = Encoding.UTF8.GetString(TextFileLoader.Load(path).Span);
        var sentences = IsJsonLines(path) ? ReadJsonLines(path, text, labelNames, warnings) : ReadConll(path, text);
        if (sentences.Count == 0)
        {
            throw new BertSharpException(IsJsonLines(path)
                ? $"{path}: no sentences; expected one JSON object per line with \"tokens\" and \"ner_tags\"."
                : $"{path}: no sentences; expected CoNLL columns (a word and its tag per line, a blank line between sentences).");
        }
        return sentences;
    }

    /// <summary>
    /// CoNLL-2003 columns: the first field is the word, the last the tag; fields are separated by spaces or tabs, and every
    /// word line has as many as the first.
    /// </summary>
    public static List<TaggedSentence> ReadConll(string path, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var sentences = new List<TaggedSentence>();
        var words = new List<string>();
        var tags = new List<string>();
        var first = 0;
        void Flush()
        {
            if (words.Count > 0)
            {
                sentences.Add(new TaggedSentence([.. words], [.. tags], first));
                words.Clear();
                tags.Clear();
            }
        }
        // The first word line's field count and number: every word line must have as many.
        var (columns, columnsLine) = (0, 0);
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd('\r');
            if (string.IsNullOrWhiteSpace(line))
            {
                Flush();
                continue;
            }
            var fields = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (fields[0] == "-DOCSTART-")
            {
                Flush();
                continue;
            }
            if (fields.Length < 2)
            {
                throw new BertSharpException(Invariant($"{IO.LineRef.At(path, i + 1)}: '{Short(line)}' has one field; expected a word and its tag (CoNLL columns: word … tag)."));
            }
            // Without this, any file of white-space-separated text read as CoNLL: an SST-2 TSV trained a tagger on each line's
            // first word and last field ('0', '1', 'label'), and a line that had lost its tag column was tagged with its last
            // other column ('_').
            if (columns == 0)
            {
                (columns, columnsLine) = (fields.Length, i + 1);
            }
            else if (fields.Length != columns)
            {
                throw new BertSharpException(Invariant(
                    $"{IO.LineRef.At(path, i + 1)}: '{Short(line)}' has {fields.Length} fields (line {columnsLine} has {columns}); expected the same CoNLL columns on every line (word … tag)."));
            }
            if (words.Count == 0)
            {
                first = i + 1;
            }
            words.Add(fields[0]);
            tags.Add(fields[^1]);
        }
        Flush();
        return sentences;
    }

    /// <summary>
    /// JSON lines with <c>tokens</c> and <c>ner_tags</c> (or <c>tags</c>): strings, or integers with <paramref name="labelNames"/>.
    /// A line without tokens is left out, as it adds nothing (HF keeps it as a sentence without labels), and
    /// <paramref name="warnings"/> receives one line with how many and the first.
    /// </summary>
    /// <param name="path">The file, as messages name it.</param>
    /// <param name="text">Its text.</param>
    /// <param name="labelNames">Tag names by index, for integer tags; null when the tags are strings.</param>
    /// <param name="warnings">Receives the line about lines without tokens, when there are any; null to leave it unsaid.</param>
    public static List<TaggedSentence> ReadJsonLines(string path, string text, IReadOnlyList<string>? labelNames, ICollection<string>? warnings = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        var sentences = new List<TaggedSentence>();
        var (empty, firstEmpty) = (0, 0);
        JsonLines.ForEach(path, text, (line, root) =>
        {
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new BertSharpException(Invariant($"{IO.LineRef.At(path, line)}: expected a JSON object with \"tokens\" and \"ner_tags\"."));
            }
            var tokens = Array(path, line, root, "tokens");
            var tagField = root.TryGetProperty("ner_tags", out _) ? "ner_tags" : "tags";
            var tagValues = Array(path, line, root, tagField);
            if (tokens.Count != tagValues.Count)
            {
                throw new BertSharpException(Invariant($"{IO.LineRef.At(path, line)}: {tokens.Count} tokens but {tagValues.Count} {tagField}; expected one tag per token."));
            }
            var words = tokens.Select(t => t.ValueKind == JsonValueKind.String ? t.GetString()!
                : throw new BertSharpException(Invariant($"{IO.LineRef.At(path, line)}: field \"tokens\" holds {t.ValueKind}; expected strings."))).ToArray();
            var tags = tagValues.Select((t, k) => Tag(path, line, tagField, k, t, labelNames)).ToArray();
            if (words.Length > 0)
            {
                sentences.Add(new TaggedSentence(words, tags, line));
            }
            else if (empty++ == 0)
            {
                firstEmpty = line;
            }
        });
        if (empty > 0)
        {
            // They were dropped without a word: a file of mostly empty lines (a broken export) trained on what was left.
            warnings?.Add(Invariant($"{path}: {empty:N0} line{(empty == 1 ? "" : "s")} with no tokens (\"tokens\": []) left out, the first line {firstEmpty}; an empty sentence adds nothing to training or scores."));
        }
        return sentences;
    }

    /// <summary>
    /// The tag set in class-id order: <paramref name="labelNames"/> when given, else the sorted distinct tags of
    /// <paramref name="sentences"/> (HF run_ner's <c>sorted(unique_labels)</c>).
    /// </summary>
    /// <param name="sentences">The training sentences.</param>
    /// <param name="labelNames">
    /// The tag names in id order: at least 2, each named (<see cref="RequireNamedTags"/>) and given once; or null to take the
    /// sentences' tags.
    /// </param>
    /// <param name="source">The file the sentences come from, named by the error when they hold fewer than 2 tags.</param>
    /// <exception cref="BertSharpException"><paramref name="labelNames"/> names a tag "", names one twice or holds only one; or the sentences hold fewer than 2 tags.</exception>
    public static IReadOnlyList<string> Labels(IEnumerable<TaggedSentence> sentences, IReadOnlyList<string>? labelNames = null, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(sentences);
        if (labelNames is { Count: > 0 })
        {
            RequireTagList(labelNames, BertSharpException.Field("labels"));
            return labelNames;
        }
        var labels = sentences.SelectMany(s => s.Tags).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        RequireTwoTags(labels, source, "the training data");
        return labels;
    }

    /// <summary>
    /// Refuses a tag list that does not tell its classes apart: a class without a name (null, empty or white space only) or a
    /// name given to two classes. seqeval reads the entities from the names and fails on an empty one, which stopped a
    /// fine-tuning only at its first validation; two classes of one name made its entities ambiguous and a prediction's tag
    /// say nothing of its class. Not refused when a config is read: HF allows such names, and only token classification scores
    /// by them.
    /// </summary>
    /// <param name="tags">The tag names in class-id order.</param>
    /// <param name="source">Where the names come from (a config file's field, a list given), as the message names it.</param>
    /// <exception cref="BertSharpException">A class has no name, or shares its name with another.</exception>
    public static void RequireNamedTags(IReadOnlyList<string> tags, string source)
    {
        ArgumentNullException.ThrowIfNull(tags);
        if (TagNameFault(tags) is { } fault)
        {
            throw new BertSharpException($"{source}: {fault}");
        }
    }

    /// <summary>What is wrong with the first class among <paramref name="tags"/> that <see cref="RequireNamedTags"/> refuses, or null.</summary>
    /// <remarks>
    /// Worded without a source, so that a check of arguments (HeadEvaluation.Tagging's labels) says the one rule by its
    /// parameter's name instead of a second copy of it.
    /// </remarks>
    internal static string? TagNameFault(IReadOnlyList<string> tags) => ClassNames.Fault(tags) switch
    {
        null => null,
        { Repeated: true } f => $"{f.What}; expected each tag once, in id order.",
        var f => $"{f.What}; expected a tag such as O or B-PER (seqeval reads the entities from the tag names).",
    };

    /// <summary>
    /// Refuses a tag list given in id order (the HF datasets' names of integer tags) that <see cref="Labels"/> would refuse:
    /// one <see cref="RequireNamedTags"/> refuses, or fewer than 2 tags. Called by options' checks too, before any data is read.
    /// </summary>
    internal static void RequireTagList(IReadOnlyList<string> tags, string source)
    {
        RequireNamedTags(tags, source);
        RequireTwoTags(tags, source, "the list");
    }

    private static void RequireTwoTags(IReadOnlyList<string> tags, string? source, string holder)
    {
        if (tags.Count < 2)
        {
            throw new BertSharpException($"{(source is null ? "" : source + ": ")}token classification needs at least 2 tags; " +
                                         $"{holder} has {tags.Count.ToString(CultureInfo.InvariantCulture)} ({string.Join(", ", tags)}).");
        }
    }

    /// <summary>Reads a label list: a file with one label per line, or a comma-separated list; blanks at its end are ignored.</summary>
    /// <exception cref="BertSharpException">
    /// A line or entry that is empty or white space only comes before the last label, or the list is one <see cref="Labels"/> refuses (a name given
    /// twice, fewer than 2).
    /// </exception>
    public static IReadOnlyList<string> ParseLabelList(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var file = File.Exists(value);
        var entries = (file ? File.ReadAllLines(value) : value.Split(',')).ToList();
        // Blanks at the end are a file's last newlines or a trailing comma; one before a label was dropped, which gave every
        // later label the id of the one after it.
        while (entries.Count > 0 && string.IsNullOrWhiteSpace(entries[^1]))
        {
            entries.RemoveAt(entries.Count - 1);
        }
        // Judged before the trim, so that an entry of spaces is said to be one, as the library's rule for a name says it.
        if (entries.FindIndex(e => ClassNames.Unnamed(e) is not null) is var blank and >= 0)
        {
            var what = ClassNames.Unnamed(entries[blank]);
            throw new BertSharpException(file
                ? Invariant($"{BertSharpException.Field("labels")} {IO.LineRef.At(value, blank + 1)} is {what}; expected one tag name per line, in id order (such as O or B-PER).")
                : Invariant($"{BertSharpException.Field("labels")} {value}: entry {blank + 1} is {what}; expected comma-separated tag names in id order (such as O,B-PER)."));
        }
        var items = entries.ConvertAll(e => e.Trim());
        RequireTagList(items, $"{BertSharpException.Field("labels")} {value}");
        return items;
    }

    private static List<JsonElement> Array(string path, int line, JsonElement root, string field)
    {
        if (!root.TryGetProperty(field, out var v))
        {
            // The tags are looked up as "tags" when "ner_tags" is absent; naming only "tags" sent users to the wrong field.
            var name = field == "tags" ? "\"ner_tags\" (or \"tags\")" : $"\"{field}\"";
            throw new BertSharpException(Invariant($"{IO.LineRef.At(path, line)}: missing field {name}, a JSON array; expected \"tokens\" and \"ner_tags\"."));
        }
        if (v.ValueKind != JsonValueKind.Array)
        {
            throw new BertSharpException(Invariant($"{IO.LineRef.At(path, line)}: field \"{field}\" is {Short(v.GetRawText())}; expected a JSON array (one entry per word)."));
        }
        return [.. v.EnumerateArray()];
    }

    private static string Tag(string path, int line, string field, int position, JsonElement t, IReadOnlyList<string>? labelNames)
    {
        if (t.ValueKind == JsonValueKind.String)
        {
            // seqeval fails on an empty tag and so do the metrics: let through here, it stopped a fine-tuning only at its first
            // validation. The tags read become the classes' names, so they follow a given tag list's rule.
            var tag = t.GetString()!;
            return ClassNames.Unnamed(tag) is { } what
                ? throw new BertSharpException(Invariant($"{IO.LineRef.At(path, line)}: field \"{field}\" entry {(position + 1).ToString(CultureInfo.InvariantCulture)} is {what}; expected a tag such as O or B-PER."))
                : tag;
        }
        if (t.ValueKind == JsonValueKind.Number && t.TryGetInt32(out var id))
        {
            if (labelNames is null)
            {
                throw new BertSharpException(Invariant($"{IO.LineRef.At(path, line)}: field \"{field}\" holds integer tags; give the tag names with {BertSharpException.Field("labels")} (in id order)."));
            }
            if (id < 0 || id >= labelNames.Count)
            {
                throw new BertSharpException(Invariant(
                    $"{IO.LineRef.At(path, line)}: field \"{field}\" entry {position + 1} is {id}; expected a tag id 0…{labelNames.Count - 1} (the {labelNames.Count} labels given)."));
            }
            return labelNames[id];
        }
        throw new BertSharpException(Invariant($"{IO.LineRef.At(path, line)}: field \"{field}\" holds {t.ValueKind}; expected tag strings or integer ids."));
    }

    private static string Short(string s) => s.Length <= 40 ? s : s[..40] + "…";
}
