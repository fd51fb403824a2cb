using BertSharp.Data;
using BertSharp.Inference;
using BertSharp.Modeling;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tokenization;

namespace BertSharp.Tests.Data;

public class DatasetReaderTests
{
    private static string F(string name) => Path.Combine(TestPaths.Fixtures, "data", name);

    [Fact]
    public void Sst2_reads_header_tsv_with_label_names()
    {
        var d = DatasetReader.Read(F("sst2_train.tsv"), TaskSpec.Sst2);
        Assert.Equal(8, d.Count);
        Assert.Equal("hide new secretions from the parental units", d.Examples[0].Text);
        Assert.Equal("negative", d.Examples[0].Label);
        Assert.Equal(2, d.Examples[0].Line);
        Assert.Equal("positive", d.Examples[2].Label);
        Assert.Contains("clichés", d.Examples[4].Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Cola_reads_four_columns_without_header()
    {
        var d = DatasetReader.Read(F("cola_train.tsv"), TaskSpec.Cola);
        Assert.Equal(6, d.Count);
        Assert.Equal("Our friends won't buy this analysis, let alone the next one we propose.", d.Examples[0].Text);
        Assert.Equal("acceptable", d.Examples[0].Label);
        Assert.Equal("They drank the pub.", d.Examples[3].Text);
        Assert.Equal("unacceptable", d.Examples[3].Label);
        Assert.Equal(4, d.Examples[3].Line);
    }

    [Fact]
    public void Mrpc_reads_pairs_after_bom_and_keeps_quotes()
    {
        var d = DatasetReader.Read(F("mrpc_train.tsv"), TaskSpec.Mrpc);
        Assert.Equal(4, d.Count);
        Assert.StartsWith("Amrozi accused his brother , whom he called \" the witness \"", d.Examples[0].Text, StringComparison.Ordinal);
        Assert.StartsWith("Referring to him as only \" the witness \"", d.Examples[0].TextPair, StringComparison.Ordinal);
        Assert.Equal("equivalent", d.Examples[0].Label);
        Assert.Equal("not_equivalent", d.Examples[1].Label);
    }

    [Fact]
    public void Imdb_reads_gzip_csv_and_cleans_html_breaks()
    {
        var d = DatasetReader.Read(F("imdb_train.csv.gz"), TaskSpec.Imdb);
        Assert.Equal(6, d.Count);
        Assert.All(d.Examples, e => Assert.DoesNotContain("<br", e.Text, StringComparison.Ordinal));
        Assert.Contains("a movie called \"Reload\" in production", d.Examples[0].Text, StringComparison.Ordinal);
        Assert.Equal(["negative", "negative", "negative", "positive", "positive", "positive"], d.Examples.Select(e => e.Label));
    }

    [Fact]
    public void Csv_with_quoting_and_string_labels()
    {
        var task = TaskSpec.Get("csv");
        var d = DatasetReader.Read(F("custom.csv"), task);
        Assert.Equal(["Great movie, loved it", "Terrible plot", "She said \"wow\"", "meh"], d.Examples.Select(e => e.Text));
        var map = LabelMap.ForTask(task, d);
        Assert.Equal(["neg", "neutral", "pos"], map.Labels);
        Assert.Equal([2f, 0f, 2f, 1f], map.Encode(d));
        Assert.Equal(1, map.Label2Id["neutral"]);
    }

    [Fact]
    public void Jsonl_with_numeric_labels_sorted_numerically_and_boolean_labels_as_their_json_names()
    {
        var task = TaskSpec.Get("jsonl");
        var d = DatasetReader.Read(F("custom.jsonl"), task);
        Assert.Equal(3, d.Count);
        Assert.Equal(4, d.Examples[2].Line);
        var map = LabelMap.ForTask(task, d);
        Assert.Equal(["0", "1"], map.Labels);
        Assert.Equal([1f, 0f, 1f], map.Encode(d));
        // 2 before 10, as run_glue.py's label_list.sort() orders integers: ordinal order puts 10 first (and 0, 1 cannot tell).
        using var tmp = TestPaths.TempDir();
        File.WriteAllText(tmp.File("ids.jsonl"), "{\"text\": \"a\", \"label\": 10}\n{\"text\": \"b\", \"label\": 2}\n{\"text\": \"c\", \"label\": 1}\n");
        var ids = DatasetReader.Read(tmp.File("ids.jsonl"), task);
        var idMap = LabelMap.ForTask(task, ids);
        Assert.Equal(["1", "2", "10"], idMap.Labels);
        Assert.Equal([2f, 1f, 0f], idMap.Encode(ids));
        // HF datasets often hold bool labels; false sorts first, as HF's run_glue.py sorts them (its label2id keys are "false", "true").
        File.WriteAllText(tmp.File("bool.jsonl"), "{\"text\": \"a fine film\", \"label\": true}\n{\"text\": \"dull\", \"label\": false}\n");
        var bools = DatasetReader.Read(tmp.File("bool.jsonl"), task);
        var boolMap = LabelMap.ForTask(task, bools);
        Assert.Equal(["false", "true"], boolMap.Labels);
        Assert.Equal([1f, 0f], boolMap.Encode(bools));
        Assert.Equal($"{tmp.File("bool.jsonl")} line 1: field 'label' is 'true'; expected a finite number for regression.", Assert.Throws<BertSharpException>(() =>
            DatasetReader.Read(tmp.File("bool.jsonl"), TaskSpec.Get("jsonl", regression: true))).Message);
    }

    [Fact]
    public void Tsv_regression_with_named_columns()
    {
        var task = TaskSpec.Get("tsv", textColumn: "text", labelColumn: "score", regression: true);
        var d = DatasetReader.Read(F("regression.tsv"), task);
        var map = LabelMap.ForTask(task, d);
        Assert.True(map.IsRegression);
        Assert.Equal(1, map.NumLabels);
        Assert.Equal([4.5f, 0.25f, 3.0f], map.Encode(d));
        // 1e400 is a number, one too large for a float: it was refused as "expected a number". The reader refuses it by
        // LabelMap's rule (it let it through, and data stats reported a mean of Infinity); LabelMap still refuses it in a
        // file read as classification.
        using var tmp = TestPaths.TempDir();
        var asClasses = TaskSpec.Get("tsv", textColumn: "text", labelColumn: "score");
        foreach (var label in new[] { "1e400", "NaN", "-Infinity" })
        {
            File.WriteAllText(tmp.File("d.tsv"), $"text\tscore\na\t{label}\n");
            Assert.Equal($"{tmp.File("d.tsv")} line 2: field 'score' is '{label}'; expected a finite number for regression.",
                Assert.Throws<BertSharpException>(() => DatasetReader.Read(tmp.File("d.tsv"), task)).Message);
            Assert.Equal($"{tmp.File("d.tsv")} line 2: field 'score' is '{label}'; expected a finite number (the model is a regression model).",
                Assert.Throws<BertSharpException>(() => map.Encode(DatasetReader.Read(tmp.File("d.tsv"), asClasses))).Message);
        }
    }

    [Fact]
    public void Unlabelled_reading_allows_missing_label_column()
    {
        var d = DatasetReader.Read(F("missing_column.tsv"), TaskSpec.Get("tsv", textColumn: "sentence"), requireLabels: false);
        Assert.Null(d.Examples[0].Label);
    }

    // Reading for prediction (labels not required) asked for a label column all the same: bert predict --input ho.csv, a
    // header-only "text,label", said "expected a header row with columns 'text' and 'label'".
    [Theory]
    [InlineData("csv", "text,label\n", false, ": no examples after the header; expected a header row with column 'text'.")]
    [InlineData("csv", "text,label\n", true, ": no examples after the header; expected a header row with columns 'text' and 'label'.")]
    [InlineData("mrpc", "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n", false, ": no examples after the header; expected a header row with columns '#1 String' and '#2 String'.")]
    [InlineData("jsonl", "", false, ": empty file; expected one JSON object per line with \"text\".")]
    [InlineData("csv", "\n \n", false, ": no examples, only blank lines; expected a header row with column 'text'.")]
    [InlineData("sst2", "text\tlabel\na film\t1\n", false, " line 1: missing column 'sentence' in the header (columns: text, label) (task sst2 expects a header row with column 'sentence').")]
    public void Messages_ask_for_the_label_only_when_labels_are_required(string task, string content, bool requireLabels, string expected)
        => AssertReadError(task, content, requireLabels, expected);

    // A learner's TSV given as --task csv (or a CSV as tsv) was told "missing column 'text' in the header (columns:
    // text\tlabel); choose it with --text-column", but the column is there: the separator is the other one.
    [Theory]
    [InlineData("csv", "text\tlabel\na film\t1\n", " line 1: missing column 'text' in the header (columns: text\tlabel): the header is separated by tabs, not commas; expected comma-separated columns for task csv (task tsv reads tab-separated ones).")]
    [InlineData("tsv", "text,label\na film,1\n", " line 1: missing column 'text' in the header (columns: text,label): the header is separated by commas, not tabs; expected tab-separated columns for task tsv (task csv reads comma-separated ones).")]
    [InlineData("imdb", "review\tsentiment\na film\tpositive\n", " line 1: missing column 'review' in the header (columns: review\tsentiment): the header is separated by tabs, not commas; expected comma-separated columns for task imdb (task tsv reads tab-separated ones).")]
    [InlineData("sst2", "sentence,label\na film,1\n", " line 1: missing column 'sentence' in the header (columns: sentence,label): the header is separated by commas, not tabs; expected tab-separated columns for task sst2 (task csv reads comma-separated ones).")]
    public void A_header_split_by_the_other_separator_is_named_as_such_not_as_a_column_to_choose(string task, string content, string expected)
        => AssertReadError(task, content, requireLabels: true, expected);

    // A learner's csv/tsv without a header row was told "missing column 'text' ... choose it with --text-column": no column
    // name could be chosen, as the first example was read as the header. A first line that reads as data (a number, one of
    // the task's labels, or a sentence where no column the task reads is named) says so; a real header lacking the column
    // reads as before.
    [Theory]
    [InlineData("csv", "a film,1\nbad,0\n", true, " line 1: missing column 'text' in the header (columns: a film, 1): the first line looks like an example, not a header; task csv expects a header row with columns 'text' and 'label' (then one example per line).")]
    [InlineData("tsv", "this film was great\tpos\n", true, " line 1: missing column 'text' in the header (columns: this film was great, pos): the first line looks like an example, not a header; task tsv expects a header row with columns 'text' and 'label' (then one example per line).")]
    [InlineData("tsv", "this film was great\tpos\n", false, " line 1: missing column 'text' in the header (columns: this film was great, pos): the first line looks like an example, not a header; task tsv expects a header row with column 'text' (then one example per line).")]
    [InlineData("sst2", "a film\t1\n", true, " line 1: missing column 'sentence' in the header (columns: a film, 1): the first line looks like an example, not a header; task sst2 expects a header row with columns 'sentence' and 'label' (then one example per line).")]
    [InlineData("imdb", "A fine film,positive\n", true, " line 1: missing column 'review' in the header (columns: A fine film, positive): the first line looks like an example, not a header; task imdb expects a header row with columns 'review' and 'sentiment' (then one example per line).")]
    [InlineData("csv", "review,stars\na film,1\n", true, " line 1: missing column 'text' in the header (columns: review, stars); choose it with text_column.")]
    [InlineData("csv", "the review text,label\na film,1\n", true, " line 1: missing column 'text' in the header (columns: the review text, label); choose it with text_column.")]
    public void A_file_without_a_header_row_is_named_as_such_not_as_a_column_to_choose(string task, string content, bool requireLabels, string expected)
        => AssertReadError(task, content, requireLabels, expected);

    // CoLA's files have no header; a learner who added one ("source label mark sentence", as pandas' names=) was told only
    // "field 'label' is 'label'". A first line that is no example says so; a bad label further down reads as before.
    [Theory]
    [InlineData("source\tlabel\tmark\tsentence\ngj04\t1\t\tA sentence.\n", " line 1: field 'label' is 'label'; expected 0 or 1 for task cola (its files have no header row: the first line is an example).")]
    [InlineData("gj04\t1\t\tA sentence.\ngj04\tyes\t\tAnother one.\n", " line 2: field 'label' is 'yes'; expected 0 or 1 for task cola.")]
    public void A_header_row_in_a_headerless_cola_file_is_named_as_such(string content, string expected)
    {
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("in.tsv");
        File.WriteAllText(path, content);
        var e = Assert.Throws<BertSharpException>(() => DatasetReader.Read(path, TaskSpec.Cola));
        Assert.Equal(path + expected, e.Message);
    }

    // The reason was cut at its first '.', which left "(')" of "'.' is an invalid start of a value".
    [Fact]
    public void A_jsonl_line_that_is_not_JSON_is_named_with_its_whole_reason()
    {
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("in.jsonl");
        File.WriteAllText(path, "{\"text\": \"a\"}\n{\"text\": .5}\n");
        var e = Assert.Throws<BertSharpException>(() => DatasetReader.Read(path, TaskSpec.Get("jsonl"), requireLabels: false));
        Assert.Equal($"{path} line 2: not valid JSON ('.' is an invalid start of a value); expected one JSON object per line.", e.Message);
    }

    [Theory]
    [InlineData("empty.tsv", "sst2", "empty.tsv: empty file")]
    [InlineData("header_only.tsv", "sst2", "header_only.tsv: no examples")]
    [InlineData("missing_column.tsv", "sst2", "missing_column.tsv line 1: missing column 'label'")]
    [InlineData("short_row.tsv", "sst2", "short_row.tsv line 3: missing field 'label'")]
    [InlineData("bad_label.tsv", "sst2", "bad_label.tsv line 3: field 'label' is '2'; expected 0 or 1")]
    [InlineData("bad_utf8.tsv", "sst2", "bad_utf8.tsv line 3: invalid UTF-8")]
    [InlineData("numeric_text.csv", "csv", "numeric_text.csv line 2: column 'text' holds numbers")]
    [InlineData("non_text.jsonl", "jsonl", "non_text.jsonl line 2: field \"text\" is a JSON number, not text")]
    [InlineData("no_such_file.tsv", "sst2", "no_such_file.tsv: file not found")]
    public void Bad_inputs_give_one_line_errors_naming_file_line_and_field(string file, string task, string expected)
    {
        var e = Assert.Throws<BertSharpException>(() => DatasetReader.Read(F(file), TaskSpec.Get(task)));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    // A row longer than the header was read by its first fields and the rest dropped, silently; pandas refuses it
    // ("Expected 2 fields in line 3, saw 3").
    [Theory]
    [InlineData("x.tsv", "tsv", "text\tlabel\na\t1\nb\t0\textra\n", "line 3: the row has 3 fields, expected 2 (the header's columns: text, label); a tab inside a text splits it.")]
    [InlineData("x.csv", "csv", "text,label\na,1\n\"b, c\",0,\n", "line 3: the row has 3 fields, expected 2 (the header's columns: text, label); quote a field holding ','.")]
    [InlineData("cola.tsv", "cola", "gj04\t1\t\tA fine sentence.\ngj04\t0\t*\tA bad sentence\textra.\n",
        "line 2: the row has 5 fields, expected 4 (the task's columns: source, label, mark, sentence); a tab inside a text splits it.")]
    public void A_row_with_more_fields_than_columns_is_an_error_naming_file_line_and_counts(string file, string task, string content, string expected)
    {
        using var tmp = TestPaths.TempDir();
        File.WriteAllText(tmp.File(file), content);
        var e = Assert.Throws<BertSharpException>(() => DatasetReader.Read(tmp.File(file), TaskSpec.Get(task)));
        Assert.Equal($"{tmp.File(file)} {expected}", e.Message);
    }

    [Fact]
    public void A_column_named_twice_in_the_header_is_an_error_naming_both()
    {
        // CsvHelper reads the first 'text' without a word; which of the two was meant is the user's to say.
        using var tmp = TestPaths.TempDir();
        File.WriteAllText(tmp.File("dup.csv"), "text,text,label\na fine film,an awful film,1\n");
        var e = Assert.Throws<BertSharpException>(() => DatasetReader.Read(tmp.File("dup.csv"), TaskSpec.Get("csv")));
        Assert.Equal($"{tmp.File("dup.csv")} line 1: column 'text' appears twice in the header (columns 1 and 2); expected one column of each name.", e.Message);
        // A repeated column the task does not read is no ambiguity.
        File.WriteAllText(tmp.File("other.csv"), "note,text,note,label\nx,a fine film,y,1\n");
        Assert.Equal("a fine film", DatasetReader.Read(tmp.File("other.csv"), TaskSpec.Get("csv")).Examples[0].Text);
    }

    [Fact]
    public void A_jsonl_key_given_twice_is_an_error_naming_the_line_and_the_key()
    {
        // JsonDocument finds one of the two labels (this one: "neg"), Python's json the last: the line means different
        // things to different readers.
        using var tmp = TestPaths.TempDir();
        File.WriteAllText(tmp.File("dup.jsonl"), "{\"text\": \"a fine film\", \"label\": \"pos\"}\n\n{\"text\": \"awful\", \"label\": \"pos\", \"label\": \"neg\"}\n");
        var e = Assert.Throws<BertSharpException>(() => DatasetReader.Read(tmp.File("dup.jsonl"), TaskSpec.Get("jsonl")));
        Assert.Equal($"{tmp.File("dup.jsonl")} line 3: duplicate key 'label'.", e.Message);
    }

    [Fact]
    public void Label_unseen_in_training_is_an_error_naming_file_line_and_field()
    {
        var task = TaskSpec.Get("csv");
        var map = LabelMap.ForTask(task, DatasetReader.Read(F("custom.csv"), task));
        var eval = DatasetReader.Read(F("unseen_label.csv"), task);
        var e = Assert.Throws<BertSharpException>(() => map.Encode(eval));
        Assert.Contains("unseen_label.csv line 3: field 'label' has label 'surprise' that the model was not trained on", e.Message, StringComparison.Ordinal);
    }

    // An HF model made with num_labels alone names its classes LABEL_0 … LABEL_{n-1}. Evaluating it on the data's class ids,
    // or on sst2, was refused ("label '2' that the model was not trained on"); run_glue.py reads such data by id.
    [Fact]
    public void Default_label_names_read_class_ids_and_a_tasks_labels_and_say_so()
    {
        using var tmp = TestPaths.TempDir();
        File.WriteAllText(tmp.File("n.csv"), "text,label\nhello,2\nbye,0\n");
        var csv = TaskSpec.Get("csv");
        var ids = DatasetReader.Read(tmp.File("n.csv"), csv);
        var byId = LabelMap.FromConfig(null, 3, null).ForData(ids, csv, "m/config.json", out var note);
        Assert.Equal(["0", "1", "2"], byId.Labels);
        Assert.Equal([2f, 0f], byId.Encode(ids));
        Assert.Equal($"m/config.json: field 'id2label' holds HF's default names (LABEL_0, LABEL_1, LABEL_2), which do not say what the classes are; " +
                     $"the labels of {tmp.File("n.csv")} are read as class ids: 0 → LABEL_0, 1 → LABEL_1, 2 → LABEL_2.", note);

        // sst2_train.tsv's raw labels: 0 0 1 0 0 0 1 1 (0 = negative, class 0 in the task's order).
        var sst2 = DatasetReader.Read(F("sst2_train.tsv"), TaskSpec.Sst2);
        var byTask = LabelMap.FromConfig(new Dictionary<int, string> { [0] = "LABEL_0", [1] = "LABEL_1" }, 2, null).ForData(sst2, TaskSpec.Sst2, "m/config.json", out note);
        Assert.Equal(["negative", "positive"], byTask.Labels);
        Assert.Equal([0f, 0f, 1f, 0f, 0f, 0f, 1f, 1f], byTask.Encode(sst2));
        Assert.EndsWith("; task sst2's labels are taken in its class order: negative → LABEL_0, positive → LABEL_1.", note, StringComparison.Ordinal);
    }

    // A given list follows ClassNames' rule and names the classes: it said "duplicate label names: a, b, a." and took a class
    // named " ". A config's names need not be named (HF allows it), but no two classes can share one.
    [Fact]
    public void Given_label_names_tell_the_classes_apart_and_a_configs_tell_them_apart_too()
    {
        Assert.Equal("labels: classes \"0\" and \"2\" are both named \"a\"; expected each label once, in id order.",
            Assert.Throws<BertSharpException>(() => LabelMap.FromLabels(["a", "b", "a"])).Message);
        Assert.Equal("labels: the name of class \"1\" is white space only; expected a label name for each class.",
            Assert.Throws<BertSharpException>(() => LabelMap.FromLabels(["a", " "])).Message);
        Assert.Equal("field 'id2label': classes \"0\" and \"2\" are both named \"a\"; expected each label once, in id order.",
            Assert.Throws<BertSharpException>(() => LabelMap.FromConfig(new Dictionary<int, string> { [0] = "a", [1] = "", [2] = "a" }, 3, null)).Message);
        Assert.Equal(["", " "], LabelMap.FromConfig(new Dictionary<int, string> { [0] = "", [1] = " " }, 2, null).Labels);
    }

    [Fact]
    public void Label_names_other_than_the_defaults_are_never_guessed_and_unknown_labels_stay_an_error()
    {
        using var tmp = TestPaths.TempDir();
        var csv = TaskSpec.Get("csv");
        TextDataset Read(string content) => ReadCsv(tmp, content);
        var ids = Read("text,label\na,1\nb,0\n");
        var named = LabelMap.FromLabels(["neg", "pos"]);
        Assert.Same(named, named.ForData(ids, csv, "m/config.json", out var note));
        Assert.Null(note);
        Assert.Equal($"{tmp.File("d.csv")} line 2: field 'label' has label '1' that the model was not trained on; expected one of neg, pos.",
            Assert.Throws<BertSharpException>(() => named.Encode(ids)).Message);

        // An id past the classes is named in the data's terms, not as if '0' were unknown too.
        var three = LabelMap.FromConfig(null, 3, null);
        var outOfRange = Read("text,label\na,0\nb,3\n");
        Assert.Equal($"{tmp.File("d.csv")} line 3: field 'label' has label '3' that the model was not trained on; expected one of 0, 1, 2.",
            Assert.Throws<BertSharpException>(() => three.ForData(outOfRange, csv, "m/config.json", out _).Encode(outOfRange)).Message);
        var other = Read("text,label\na,-1\nb,0\n");
        Assert.Same(three, three.ForData(other, csv, "m/config.json", out note));
        Assert.Null(note);
        Assert.Equal($"{tmp.File("d.csv")} line 2: field 'label' has label '-1' that the model was not trained on; expected one of LABEL_0, LABEL_1, LABEL_2.",
            Assert.Throws<BertSharpException>(() => three.Encode(other)).Message);
        // A task's name for the file's label is told apart from the text: evaluating an SST-2 model on CoLA named 'acceptable'
        // as the label, where the file holds 1.
        var cola = DatasetReader.Read(F("cola_train.tsv"), TaskSpec.Cola);
        Assert.Equal($"{F("cola_train.tsv")} line 1: field 'label' has label '1' (read as 'acceptable') that the model was not trained on; expected one of negative, positive.",
            Assert.Throws<BertSharpException>(() => LabelMap.FromLabels(["negative", "positive"]).Encode(cola)).Message);
        // Two task labels are no reading of three classes.
        var sst2 = DatasetReader.Read(F("sst2_train.tsv"), TaskSpec.Sst2);
        Assert.Same(three, three.ForData(sst2, TaskSpec.Sst2, "m/config.json", out note));
        Assert.Null(note);
        // Data that name the default names themselves are matched by name, with nothing to say.
        var byName = Read("text,label\na,LABEL_2\nb,LABEL_0\n");
        Assert.Same(three, three.ForData(byName, csv, "m/config.json", out note));
        Assert.Null(note);
        Assert.Equal([2f, 0f], three.Encode(byName));
    }

    [Fact]
    public void Fine_tuning_a_checkpoint_further_keeps_its_classes_where_the_data_allow()
    {
        using var tmp = TestPaths.TempDir();
        var csv = TaskSpec.Get("csv");
        TextDataset Read(string content) => ReadCsv(tmp, content);
        // Ids 1 and 2 of a 3-class checkpoint with HF's default names: its 3 classes, said once.
        var twoIds = Read("text,label\na,2\nb,1\nc,2\n");
        var three = LabelMap.FromConfig(null, 3, null);
        var map = LabelMap.ForTask(csv, twoIds).ContinuingFrom(three, twoIds, csv, "m/config.json", out var note);
        Assert.Equal(["0", "1", "2"], map.Labels);
        Assert.Equal([2f, 1f, 2f], map.Encode(twoIds));
        Assert.Contains("read as class ids: 0 → LABEL_0, 1 → LABEL_1, 2 → LABEL_2.", note, StringComparison.Ordinal);
        // More ids than classes: the data's own classes (a new head).
        var fourIds = Read("text,label\na,3\nb,1\nc,0\nd,2\n");
        map = LabelMap.ForTask(csv, fourIds).ContinuingFrom(three, fourIds, csv, "m/config.json", out note);
        Assert.Equal(["0", "1", "2", "3"], map.Labels);
        Assert.Null(note);
        // Named classes: their order when the data have the same labels, else the data's.
        var named = Read("text,label\na,neg\nb,pos\n");
        map = LabelMap.ForTask(csv, named).ContinuingFrom(LabelMap.FromLabels(["pos", "neg"]), named, csv, "m/config.json", out note);
        Assert.Equal(["pos", "neg"], map.Labels);
        Assert.Equal([1f, 0f], map.Encode(named));
        Assert.Null(note);
        // Other names for as many classes: the kept head learns the data's classes, said as run_glue.py warns it.
        map = LabelMap.ForTask(csv, named).ContinuingFrom(LabelMap.FromLabels(["bad", "good"]), named, csv, "m/config.json", out note);
        Assert.Equal(["neg", "pos"], map.Labels);
        Assert.Equal("m/config.json: field 'id2label' names the checkpoint's classes bad, good; the data's labels are others, so its head is " +
                     "trained further with the data's classes in their order: neg → class 0 (was bad), pos → class 1 (was good).", note);
        // Other names for another number of classes: a new head, nothing kept to speak of.
        map = LabelMap.ForTask(csv, named).ContinuingFrom(LabelMap.FromLabels(["x", "y", "z"]), named, csv, "m/config.json", out note);
        Assert.Equal(["neg", "pos"], map.Labels);
        Assert.Null(note);
        // A checkpoint naming two classes alike (HF allows it) matches no label by name: its head, kept for as many classes,
        // learns the data's in their order, said as for other names (it was kept without a word); the checkpoint's own
        // names are read as above.
        var config = BertConfig.FromPresetOrFile("tiny");
        config.Architectures = [nameof(BertForSequenceClassification)];
        config.Id2Label = new() { [0] = "neg", [1] = "neg" };
        var source = new ModelSource(config, "m/config.json", "m", new BertTokenizer(new Vocabulary(["[UNK]"])));
        map = ClassifierCheckpoint.ContinuedLabels(source, LabelMap.ForTask(csv, named), named, csv, out note);
        Assert.Equal(["neg", "pos"], map.Labels);
        Assert.Equal("m/config.json: field 'id2label' names two classes alike (classes \"0\" and \"1\" are both named \"neg\"), so no label can be " +
                     "matched to its class by name; its head is trained further with the data's classes in their order: neg → class 0 (was neg), pos → class 1 (was neg).", note);
        config.Id2Label = new() { [0] = "neg", [1] = "neg", [2] = "pos" };
        map = ClassifierCheckpoint.ContinuedLabels(source, LabelMap.ForTask(csv, named), named, csv, out note);
        Assert.Equal(["neg", "pos"], map.Labels);
        Assert.Null(note);
        config.Id2Label = new() { [0] = "pos", [1] = "neg" };
        Assert.Equal(["pos", "neg"], ClassifierCheckpoint.ContinuedLabels(source, LabelMap.ForTask(csv, named), named, csv, out note).Labels);
        Assert.Null(note);
        // A multi-label checkpoint's head, kept for as many classes, keeps its class order for data of its names, and the
        // plan says that its loss changes (sigmoids became a softmax without a word, in the data's order).
        config.ProblemType = "multi_label_classification";
        map = ClassifierCheckpoint.ContinuedLabels(source, LabelMap.ForTask(csv, named), named, csv, out note);
        Assert.Equal(["pos", "neg"], map.Labels);
        Assert.Equal("single_label_classification", map.ProblemType);
        Assert.Equal("m/config.json: field 'problem_type' is multi_label_classification (a yes or no per label: sigmoid, binary cross-entropy); " +
                     "its head is kept for as many outputs and trained further as single_label_classification (one class per example: softmax, " +
                     "cross-entropy), so what each output means changes.", note);
        // Other names: both are said, the mapping first.
        config.Id2Label = new() { [0] = "bad", [1] = "good" };
        ClassifierCheckpoint.ContinuedLabels(source, LabelMap.ForTask(csv, named), named, csv, out note);
        Assert.StartsWith("m/config.json: field 'id2label' names the checkpoint's classes bad, good; ", note, StringComparison.Ordinal);
        Assert.EndsWith("(was good). m/config.json: field 'problem_type' is multi_label_classification (a yes or no per label: sigmoid, binary " +
                        "cross-entropy); its head is kept for as many outputs and trained further as single_label_classification (one class " +
                        "per example: softmax, cross-entropy), so what each output means changes.", note, StringComparison.Ordinal);
        // Another count: a new head, nothing kept to speak of.
        config.Id2Label = new() { [0] = "a", [1] = "b", [2] = "c" };
        ClassifierCheckpoint.ContinuedLabels(source, LabelMap.ForTask(csv, named), named, csv, out note);
        Assert.Null(note);
        // A regression head of as many outputs, kept for classes: its names head nothing, its loss changes all the same.
        config.ProblemType = "regression";
        config.Id2Label = new() { [0] = "x", [1] = "y" };
        Assert.Equal(["neg", "pos"], ClassifierCheckpoint.ContinuedLabels(source, LabelMap.ForTask(csv, named), named, csv, out note).Labels);
        Assert.Equal("m/config.json: field 'problem_type' is regression (a number per output: mean squared error); its head is kept for as " +
                     "many outputs and trained further as single_label_classification (one class per example: softmax, cross-entropy), so " +
                     "what each output means changes.", note);
        // A one-output multi-label head kept for a regression.
        config.ProblemType = "multi_label_classification";
        config.Id2Label = new() { [0] = "toxic" };
        var scores = Read("text,label\na,0.5\nb,1.5\n");
        ClassifierCheckpoint.ContinuedLabels(source, LabelMap.ForRegression(), scores, csv, out note);
        Assert.Equal("m/config.json: field 'problem_type' is multi_label_classification (a yes or no per label: sigmoid, binary cross-entropy); " +
                     "its head is kept for as many outputs and trained further as regression (a number per output: mean squared error), so what " +
                     "each output means changes.", note);
    }

    [Fact]
    public void Built_in_task_rejects_column_options()
    {
        Assert.Throws<BertSharpException>(() => TaskSpec.Get("sst2", textColumn: "x"));
        Assert.Throws<BertSharpException>(() => TaskSpec.Get("squad"));
    }

    [SkippableFact]
    public void Full_shared_datasets_read_with_documented_counts()
    {
        var sst = DatasetReader.Read(TestPaths.RequireShared("data", "glue_sst2", "train.tsv"), TaskSpec.Sst2);
        Assert.Equal(67349, sst.Count);
        Assert.Equal(29780, sst.Examples.Count(e => e.Label == "negative"));
        var cola = DatasetReader.Read(TestPaths.RequireShared("data", "cola", "out_of_domain_dev.tsv"), TaskSpec.Cola);
        Assert.Equal(516, cola.Count);
        Assert.Equal(162, cola.Examples.Count(e => e.Label == "unacceptable"));
        var mrpc = DatasetReader.Read(TestPaths.RequireShared("data", "glue_mrpc", "train.tsv"), TaskSpec.Mrpc);
        Assert.Equal(3668, mrpc.Count);
        Assert.Equal(2474, mrpc.Examples.Count(e => e.Label == "equivalent"));
        var imdb = DatasetReader.Read(TestPaths.RequireShared("data", "imdb", "test.csv.gz"), TaskSpec.Imdb);
        Assert.Equal(25000, imdb.Count);
        Assert.Equal(12500, imdb.Examples.Count(e => e.Label == "positive"));
        Assert.Contains(imdb.Examples, e => e.Text.Contains('\t', StringComparison.Ordinal));
    }

    // A data file given as a link was measured by the link's own size: a file over the limit was read whole into memory.
    [Fact]
    public void Size_limit_holds_through_a_link()
    {
        using var tmp = TestPaths.TempDir();
        var train = tmp.LinkToFileOf("train.tsv", TextFileLoader.MaxBytes + 1);
        var e = Assert.Throws<BertSharpException>(() => DatasetReader.Read(train, TaskSpec.Sst2));
        Assert.Equal($"{tmp.File("train.tsv")}: is more than {TextFileLoader.MaxBytes:N0} bytes, the limit for a data file read into memory; split it into smaller files.", e.Message);
    }

    /// <summary>d.csv in <paramref name="tmp"/> with <paramref name="content"/>, read as task csv.</summary>
    private static TextDataset ReadCsv(TempDir tmp, string content)
    {
        File.WriteAllText(tmp.File("d.csv"), content);
        return DatasetReader.Read(tmp.File("d.csv"), TaskSpec.Get("csv"));
    }

    /// <summary>Reading <paramref name="content"/> as <paramref name="task"/> fails with the file's path then <paramref name="expected"/>.</summary>
    private static void AssertReadError(string task, string content, bool requireLabels, string expected)
    {
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("in.txt");
        File.WriteAllText(path, content);
        var e = Assert.Throws<BertSharpException>(() => DatasetReader.Read(path, TaskSpec.Get(task), requireLabels));
        Assert.Equal(path + expected, e.Message);
    }
}
