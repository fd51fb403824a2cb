namespace BertSharp.Tests.Infrastructure;

public sealed class ErrorLinesTests
{
    [Theory]
    // A disk filling while a checkpoint was written, as bert said it: the run, then the checkpoint, then its weights.
    [InlineData("error: --output /r/run: /r/run/checkpoint-4 cannot be written (/r/run/checkpoint-4/model.safetensors: File too large).", "/r/run")]
    [InlineData("error: output /r/m: cannot be written (/r/m/model.safetensors: file too large).", "/r/m")]
    // .NET's reason quotes the path the line has named already.
    [InlineData("error: /r/d.png: cannot be written (Is a directory : '/r/d.png').", "/r/d.png")]
    // The same folder, written another way.
    [InlineData("error: --output /r/./data: /r/data/.bertsharp: not a valid BertSharp marker.", "/r/data")]
    // The longer path first.
    [InlineData("error: runs/x/config.json: does not match runs/x.", "runs/x")]
    public void A_path_named_again_alone_or_inside_another_is_found(string line, string repeated)
    {
        Assert.Equal(repeated, ErrorLines.RepeatedPath(line));
        Assert.Throws<Xunit.Sdk.FailException>(() => ErrorLines.AssertNamesEachPathOnce(line));
    }

    [Theory]
    [InlineData("error: --output /r/run: checkpoint-4/model.safetensors cannot be written (file too large).")]
    [InlineData("error: /r/m.onnx: cannot write the ONNX export (its data file m.onnx.0123456789abcdef.data: no such file or directory).")]
    // Two files in one folder are two paths; a path that merely starts like another ("/r/run2") is another path.
    [InlineData("error: /r/a/vocab.txt: 30 tokens, but /r/a/config.json says 40.")]
    [InlineData("error: --output /r/run2: not empty; /r/run holds the run.")]
    // Settings' values compared, in double quotes: the model directory may hold the run.
    [InlineData("error: /r/run/checkpoint-3: cannot resume: --model was not given in the checkpoint but is \"/r\" now; resume with --vocab \"/r/vocab.txt\".")]
    // Words of three characters or less with a '/' (and/or, a/b) are not paths.
    [InlineData("error: --split a/b: expected train/dev, and/or a/b again.")]
    public void Lines_that_name_each_path_once_pass(string line)
    {
        Assert.Null(ErrorLines.RepeatedPath(line));
        ErrorLines.AssertNamesEachPathOnce(line);
    }

    [Fact]
    public void Paths_are_the_words_with_a_slash_without_what_surrounds_them()
    {
        Assert.Equal(["/r/run", "checkpoint-4/model.safetensors", "/r/x.png"],
            ErrorLines.Paths("error: --output /r/run/: checkpoint-4/model.safetensors cannot be written ('/r/x.png')."));
    }
}
