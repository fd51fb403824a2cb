using BertSharp.Cli;

namespace BertSharp.Tests.Commands;

/// <summary>
/// How the CLI shows the library's warnings and notes, which name options by their fields: snake_case names and
/// <c>name=value</c> pairs become the flags that set them; ordinary words and names without a flag stay as written.
/// </summary>
public sealed class RenameFieldsTests
{
    [Theory]
    [InlineData("more data, more epochs or a smaller batch_size", "more data, more epochs or a smaller --batch-size")]
    [InlineData("learning_rate 1e-07 is low", "--lr 1e-07 is low")]
    [InlineData("the last 10 examples of a.tsv (split=tail)", "the last 10 examples of a.tsv (--split tail)")]
    [InlineData("(split=random, seed=7)", "(--split random, --seed 7)")]
    [InlineData("drop split=tail (the default splits stratified by label) or give eval_data.",
        "drop --split tail (the default splits stratified by label) or give --eval-data.")]
    [InlineData("lower-casing on (lowercase=true given)", "lower-casing on (--lowercase true given)")]
    // One-word names without '=' are words; fields and names=values without a flag stay; '=' needs a value after it.
    [InlineData("needs a validation split or file", "needs a validation split or file")]
    [InlineData("hidden_dropout_prob 0.1 from config.json", "hidden_dropout_prob 0.1 from config.json")]
    [InlineData("colour=red, split = tail, split=", "colour=red, split = tail, split=")]
    // Names in a path or a file name are data.
    [InlineData("max_length 600: runs/max_length/m was trained on 64 tokens", "--max-length 600: runs/max_length/m was trained on 64 tokens")]
    [InlineData("eval_data.tsv has 3 rows; give eval_data.", "eval_data.tsv has 3 rows; give --eval-data.")]
    [InlineData(@"C:\output_dir\a: batch_size-2 is not batch_size", @"C:\output_dir\a: batch_size-2 is not --batch-size")]
    // Worded as errors are: one line, a path's escapes shown rather than obeyed, and the API in its advice named by the command.
    [InlineData("max_length 600: runs/a\nb\u001b[31m was trained on 64 tokens", "--max-length 600: runs/a b\\x1b[31m was trained on 64 tokens")]
    [InlineData("m.onnx: no graph for max_length 600; write one with OnnxExport.Export.", "m.onnx: no graph for --max-length 600; write one with 'bert export-onnx MODEL OUT.onnx'.")]
    public void Fields_with_flags_become_the_flags(string library, string cli) =>
        Assert.Equal(cli, CliErrors.Word(library));

    // Text that carries data (labels, entity types, paths) is shown as warnings are, on one line with its escapes written
    // out, but a label or folder named like a field stays the data's name.
    [Theory]
    [InlineData("the precision of 'batch_size' (never predicted)", "the precision of 'batch_size' (never predicted)")]
    [InlineData("the recall of 'b\u001b[31m' (no example of runs/a\nb.tsv has that label)", "the recall of 'b\\x1b[31m' (no example of runs/a b.tsv has that label)")]
    public void Data_is_shown_on_one_line_and_not_renamed(string data, string shown) =>
        Assert.Equal(shown, CliErrors.Shown(data));

    // The next command's program is the launcher as the user ran it (./bert sets BERTSHARP_PROG), quoted as a path is; the
    // installed tool (no launcher) is bert on the PATH. The hint said bert, which a clone's user does not have.
    [Theory]
    [InlineData(null, "bert")]
    [InlineData("", "bert")]
    [InlineData("./bert", "./bert")]
    [InlineData("/home/me/my clone/bert", "'/home/me/my clone/bert'")]
    public void The_next_command_starts_with_the_launcher_as_it_was_run(string? launcher, string shown) =>
        Assert.Equal(shown, CliErrors.NextProgramFrom(launcher));

    // The next command finetune prints is meant to be pasted into a POSIX shell: a folder with a space must stay one argument
    // (its leading and trailing spaces too, which trimming the shown text dropped), and a quote, '$', '`' or '!' in it must reach the command as it is shown. A '"' inside the double quotes used before
    // ended them, and a '$' or '`' was expanded.
    [Theory]
    [InlineData("runs/sst2", "runs/sst2")]
    [InlineData("/tmp/a_b-1.0/x,y:z=w@v%u+t", "/tmp/a_b-1.0/x,y:z=w@v%u+t")]
    [InlineData("runs/my model", "'runs/my model'")]
    [InlineData("runs/a\u202eb c", "$'runs/a\\u202eb c'")]
    [InlineData("runs/a\nb", "$'runs/a\\x0ab'")]
    [InlineData("runs/it's\t\\x", "$'runs/it\\'s\\x09\\\\x'")]
    [InlineData("r\u001b[31m\u0085/\U0001F600", "$'r\\x1b[31m\\u0085/\U0001F600'")]
    [InlineData("runs/say \"hi\"", "'runs/say \"hi\"'")]
    [InlineData("runs/a\"b", "'runs/a\"b'")]
    [InlineData("runs/it's", "'runs/it'\\''s'")]
    [InlineData("runs/$HOME `id` \\ !1", "'runs/$HOME `id` \\ !1'")]
    [InlineData("runs/*[a]~", "'runs/*[a]~'")]
    [InlineData("", "''")]
    [InlineData(" runs/a ", "' runs/a '")]
    public void A_path_in_a_command_to_run_is_quoted_for_a_posix_shell(string path, string shown)
    {
        Assert.Equal(shown, CliErrors.ShownArgument(path));
        // The reference is the shell itself: pasted into bash in a UTF-8 locale (as the terminal that shows the path has), the
        // shown argument is the path, byte for byte.
        var psi = new System.Diagnostics.ProcessStartInfo("bash", ["-c", "printf %s " + shown])
        {
            RedirectStandardOutput = true,
            StandardOutputEncoding = System.Text.Encoding.Latin1,
        };
        psi.Environment["LC_ALL"] = "C.UTF-8";
        using var bash = System.Diagnostics.Process.Start(psi)!;
        var bytes = bash.StandardOutput.ReadToEnd();
        bash.WaitForExit();
        Assert.Equal(System.Text.Encoding.Latin1.GetString(System.Text.Encoding.UTF8.GetBytes(path)), bytes);
    }

    // The library's advice names its API (a library user has no 'bert' command); the CLI names the command instead.
    [Theory]
    [InlineData("m.onnx: ONNX model not found; write one with OnnxExport.Export.", "m.onnx: ONNX model not found; write one with 'bert export-onnx MODEL OUT.onnx'.")]
    [InlineData("d/manifest.json: not found; expected a directory written by PretrainingDataBuilder.", "d/manifest.json: not found; expected a directory written by 'bert pretrain-data'.")]
    [InlineData("expected BertForSequenceClassification (a masked-LM model: run it with FillMask, or fine-tune it first with FineTuner).",
        "expected BertForSequenceClassification (a masked-LM model: run it with 'bert fill-mask', or fine-tune it first with 'bert finetune').")]
    [InlineData("expected BertForTokenClassification (a multiple-choice model: run it with MultipleChoice)", "expected BertForTokenClassification (a multiple-choice model: run it with 'bert predict --choice')")]
    [InlineData("offline: download it once with HubClient.DownloadModel and network access.", "offline: download it once with 'bert download' and network access.")]
    // Elsewhere the names stay: in a path, an architecture, or as a word of their own.
    [InlineData("runs/FineTuner/config.json: architectures is BertForQuestionAnswering; expected TextClassifier", "runs/FineTuner/config.json: architectures is BertForQuestionAnswering; expected TextClassifier")]
    [InlineData("with FineTuners", "with FineTuners")]
    [InlineData("runs/trained with FineTuner/config.json: not found.", "runs/trained with FineTuner/config.json: not found.")]
    [InlineData("runs/made by FineTuner-2/config.json: not found.", "runs/made by FineTuner-2/config.json: not found.")]
    [InlineData("a.tsv line 3: label 'made by TextClassifier' is not one of the model's labels.", "a.tsv line 3: label 'made by TextClassifier' is not one of the model's labels.")]
    [InlineData("expected TextClassifier: run it with FillMask.Predict.", "expected TextClassifier: run it with FillMask.Predict.")]
    // The rest of the table, as the library's advice ends: at a ')' or '.', at the end, or before the next word.
    [InlineData("d/config.json: architectures is BertForSequenceClassification; expected BertForMaskedLM (a sequence classifier: run it with TextClassifier).",
        "d/config.json: architectures is BertForSequenceClassification; expected BertForMaskedLM (a sequence classifier: run it with 'bert predict').")]
    [InlineData("(a token classifier: run it with TokenClassification)", "(a token classifier: run it with 'bert ner')")]
    [InlineData("(an extractive QA model: run it with QuestionAnswering)", "(an extractive QA model: run it with 'bert qa')")]
    [InlineData("m.onnx: not a model directory (an ONNX graph: import it into one with OnnxImport.Convert)", "m.onnx: not a model directory (an ONNX graph: import it into one with 'bert convert MODEL.onnx OUT')")]
    [InlineData("s.bin: CRC mismatch; the shard is corrupt, rebuild it with PretrainingDataBuilder", "s.bin: CRC mismatch; the shard is corrupt, rebuild it with 'bert pretrain-data'")]
    public void The_library_s_api_in_its_advice_becomes_the_command(string library, string cli) =>
        Assert.Equal(cli, CliErrors.Describe(new BertSharpException(library)));
}
