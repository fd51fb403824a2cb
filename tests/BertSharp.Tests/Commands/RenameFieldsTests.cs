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
    public void Fields_with_flags_become_the_flags(string library, string cli) =>
        Assert.Equal(cli, CliErrors.RenameFields(library));
}
