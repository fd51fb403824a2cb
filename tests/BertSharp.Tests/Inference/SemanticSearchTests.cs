using BertSharp.Inference;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;
using BertSharp.Tests.Onnx;

namespace BertSharp.Tests.Inference;

/// <summary>
/// Nearest-neighbour search: cosine ranking on hand-computed vectors, and on the real all-MiniLM-L6-v2 the same neighbours
/// and scores as brute force over embeddings that ONNX Runtime computes from the package's original graph.
/// </summary>
public class SemanticSearchTests
{
    // A --queries file of blank lines was answered "give at least one --query or --queries FILE", though one was given; it
    // is refused before the model is loaded, with or without --query.
    [Fact]
    public void A_queries_file_without_queries_is_named()
    {
        using var tmp = TestPaths.TempDir();
        File.WriteAllText(tmp.File("corpus.txt"), "a text\n");
        File.WriteAllText(tmp.File("queries.txt"), "\n  \n");
        var expected = $"error: --queries {tmp.File("queries.txt")}: no texts, only blank lines; expected one text per line.";
        Assert.Equal(expected, CliRunner.Run("search", "--model", HfFixture.Dir("base-model"), "--corpus", tmp.File("corpus.txt"),
            "--queries", tmp.File("queries.txt")).AssertOneLineError());
        Assert.Equal(expected, CliRunner.Run("search", "--model", HfFixture.Dir("base-model"), "--corpus", tmp.File("corpus.txt"),
            "--query", "a text", "--queries", tmp.File("queries.txt")).AssertOneLineError());
    }

    // A query or corpus line of only zero-width or control characters passed the blank checks and was embedded as
    // [CLS] [SEP]: the query got neighbours, and the line was ranked with a score (0.875 for "cat") as if it were text. They
    // are refused as rerank refuses them, naming the flag and index or the file and line.
    [Fact]
    public void A_query_or_corpus_line_without_word_pieces_is_refused_naming_it()
    {
        using var tmp = TestPaths.TempDir();
        File.WriteAllText(tmp.File("corpus.txt"), "the cat sat\nthe dog ran\n");
        File.WriteAllText(tmp.File("bad.txt"), "the cat sat\nthe dog ran\n\u200b\u0007\n");
        File.WriteAllText(tmp.File("queries.txt"), "cat\n\n\u200b\n");
        string Search(params string[] more) => CliRunner.Run(["search", "--model", HfFixture.Dir("base-model"), .. more]).AssertOneLineError();
        const string what = ": no word pieces (only characters the tokenizer drops, such as control or zero-width ones); expected text.";
        Assert.Equal("error: --query[1]" + what, Search("--corpus", tmp.File("corpus.txt"), "--query", "cat", "--query", "\u200b"));
        Assert.Equal($"error: {tmp.File("queries.txt")} line 3" + what, Search("--corpus", tmp.File("corpus.txt"), "--queries", tmp.File("queries.txt")));
        Assert.Equal($"error: {tmp.File("bad.txt")} line 3" + what, Search("--corpus", tmp.File("bad.txt"), "--query", "cat"));
    }

    // The library refused topK 0 as "top-k 0: expected at least 1." (the CLI's flag) in a BertSharpException (bad user input).
    [Fact]
    public void A_top_k_below_one_is_an_argument_error_naming_the_parameter()
    {
        var search = new SemanticSearch(["east", "north"], [[1, 0], [0, 1]]);
        foreach (var topK in new[] { 0, -1 })
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => search.Search([1f, 0f], topK));
            Assert.Equal("topK", e.ParamName);
            Assert.Equal(topK, e.ActualValue);
        }
        // Before the query would be embedded: this search has no pipeline, which the text overload otherwise reports first.
        Assert.Equal("topK", Assert.Throws<ArgumentOutOfRangeException>(() => search.Search("east", 0)).ParamName);
    }

    [Fact]
    public void Ranks_by_cosine_similarity_best_first_ties_in_corpus_order()
    {
        // Query (2, 1): cosines 2/√5, 1/√5, 3/√10, -2/√5 and, for the copy of (1, 0), 2/√5 again.
        var search = new SemanticSearch(["east", "north", "north-east", "west", "east again"],
            [[1, 0], [0, 1], [3, 3], [-1, 0], [5, 0]]);
        var hits = search.Search([2f, 1f], topK: 5);
        Assert.Equal([2, 0, 4, 1, 3], hits.Select(h => h.Index));
        Assert.Equal("north-east", hits[0].Text);
        Assert.Equal(3 / Math.Sqrt(10), hits[0].Score, 6);
        Assert.Equal(2 / Math.Sqrt(5), hits[1].Score, 6);
        Assert.Equal(hits[1].Score, hits[2].Score, 12);
        Assert.Equal(1 / Math.Sqrt(5), hits[3].Score, 6);
        Assert.Equal(-2 / Math.Sqrt(5), hits[4].Score, 6);
        Assert.Equal([2, 0], search.Search([2f, 1f], topK: 2).Select(h => h.Index));
        Assert.Equal(5, search.Search([2f, 1f], topK: 50).Count);
        Assert.Throws<InvalidOperationException>(() => search.Search("a text needs a pipeline"));
    }

    [Fact]
    public void Embeddings_that_are_null_ragged_or_not_finite_are_refused_naming_the_entry()
    {
        // A null entry was a NullReferenceException; a NaN became a NaN score (outside [-1, 1]) ranked last, and an infinity
        // turned its whole vector into NaN once normalised.
        void Refused(string expected, string parameter, Action action)
        {
            var e = Assert.Throws<ArgumentException>(action);
            Assert.Equal(parameter, e.ParamName);
            Assert.Equal($"{expected} (Parameter '{parameter}')", e.Message);
        }
        Refused("embeddings[1] is null; expected a vector.", "embeddings", () => _ = new SemanticSearch(["a", "b"], [[1, 0], null!]));
        Refused("embeddings[2] has 3 values but embeddings[0] has 2; expected vectors of one length.", "embeddings",
            () => _ = new SemanticSearch(["a", "b", "c"], [[1, 0], [0, 1], [1, 1, 1]]));
        Refused("embeddings[1][0] is NaN; expected finite values.", "embeddings", () => _ = new SemanticSearch(["a", "b"], [[1, 0], [float.NaN, 1]]));
        Refused("embeddings[0][1] is Infinity; expected finite values.", "embeddings", () => _ = new SemanticSearch(["a"], [[1, float.PositiveInfinity]]));
        Refused("2 texts but 1 embeddings; expected one per text.", "embeddings", () => _ = new SemanticSearch(["a", "b"], [[1, 0]]));
        var search = new SemanticSearch(["a", "b"], [[1, 0], [0, 1]]);
        Refused("query[1] is NaN; expected finite values.", "query", () => search.Search([1f, float.NaN]));
        Refused("query of dimension 3, corpus of dimension 2; expected the same.", "query", () => search.Search([1f, 0f, 0f]));
    }

    [Trait(SlowFirstOrderer.Category, SlowFirstOrderer.Slow)]
    [Fact]
    public void Real_minilm_neighbours_equal_brute_force_over_onnx_runtime_embeddings_of_the_original_graph()
    {
        var corpus = MiniLm.Sentences(sst2: 200, imdb: 0);
        string[] queries = ["a gorgeous, witty, seductive movie.", "the plot is dull and the acting is even worse.", "a film about family"];
        using var pipe = FeatureExtraction.Load(MiniLm.Imported, "cpu");
        var search = SemanticSearch.Build(pipe, corpus);
        using var ort = FeatureExtraction.Load(MiniLm.Imported, new InferenceBackend(MiniLm.OriginalOnnx));
        var options = new FeatureExtractionOptions(Pooling.Mean, Normalize: true);
        var reference = ort.Embed(corpus, options);
        foreach (var (q, expectedQuery) in queries.Zip(ort.Embed(queries, options)))
        {
            var expected = reference.Select((v, i) => (Index: i, Score: v.Zip(expectedQuery, (a, b) => (double)a * b).Sum()))
                .OrderByDescending(x => x.Score).Take(5).ToList();
            var hits = search.Search(q, topK: 5);
            Assert.Equal(expected.Select(x => x.Index), hits.Select(h => h.Index));
            foreach (var (e, h) in expected.Zip(hits))
            {
                Assert.True(Math.Abs(e.Score - h.Score) < 1e-4, $"{q}: {corpus[h.Index]} {h.Score} vs ORT {e.Score}");
                Assert.Equal(corpus[e.Index], h.Text);
            }
        }
    }

    // docs/serving.md shows the quick start's search and what it prints: the same command (the model as this run imported it
    // from the same package, the corpus by its full path) prints that block line for line, its three neighbours of 872
    // texts, their ranks and scores included.
    [Trait(SlowFirstOrderer.Category, SlowFirstOrderer.Slow)]
    [Fact]
    public void The_search_in_the_docs_prints_what_they_show()
    {
        var doc = File.ReadAllLines(Path.Combine(TestPaths.RepoRoot, "docs", "serving.md"));
        var start = Array.FindIndex(doc, l => l.StartsWith("$ ./bert search ", StringComparison.Ordinal));
        Assert.True(start >= 0, "docs/serving.md shows no `$ ./bert search` command");
        var shown = doc[(start + 1)..Array.IndexOf(doc, "```", start)];
        const string Model = "~/.cache/bertsharp/all-MiniLM-L6-v2";
        const string Corpus = "samples/sst2/dev.tsv";
        var corpus = Path.Combine(TestPaths.RepoRoot, Corpus);
        var args = Training.TasksDocsExampleTests.Split(doc[start]["$ ./bert ".Length..]);
        Assert.Contains(Model, args);
        Assert.Contains(Corpus, args);
        var run = CliRunner.Run([.. args.Select(a => a switch { Model => MiniLm.Imported, Corpus => corpus, _ => a })]);
        Assert.True(run.ExitCode == 0, run.StdErr);
        Assert.Equal(shown, run.StdOut.Replace(corpus, Corpus, StringComparison.Ordinal).TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public void Cli_prints_the_neighbours_of_each_query_and_refuses_bad_options()
    {
        using var tmp = TestPaths.TempDir();
        var corpus = MiniLm.Sentences(sst2: 60, imdb: 0);
        File.WriteAllLines(tmp.File("corpus.txt"), corpus);
        File.Copy(tmp.File("corpus.txt"), tmp.File("cor\u001b[31mpus\u202e.txt"));
        var run = CliRunner.Run("search", "--model", MiniLm.Imported, "--corpus", tmp.File("cor\u001b[31mpus\u202e.txt"), "--query", "a gorgeous, witty, seductive movie.",
            "--query", "the plot is dull", "--query", "red\u001b[31m\nplot", "--top-k", "3", "--device", "cpu");
        Assert.True(run.ExitCode == 0, run.StdErr);
        var lines = run.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        // The corpus's path is shown as data: its escape drove the terminal, U+202E reversed the line.
        Assert.Equal($"60 texts of {tmp.File("cor\\x1b[31mpus\\u202e.txt")} embedded (mean pooling, cosine similarity)", lines[0]);
        Assert.Equal("query: a gorgeous, witty, seductive movie.", lines[1]);
        Assert.Equal("query: the plot is dull", lines[5]);
        // A query is shown as data: its escape drove the terminal and its line break split the line.
        Assert.Equal("query: red\\x1b[31m plot", lines[9]);
        Assert.Equal(13, lines.Length);
        using var pipe = FeatureExtraction.Load(MiniLm.Imported, "cpu");
        var search = SemanticSearch.Build(pipe, corpus);
        var hits = search.Search("the plot is dull", 3);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal($"  {i + 1}. {hits[i].Score.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture)}  {hits[i].Text}", lines[6 + i]);
        }

        var none = CliRunner.Run("search", "--model", MiniLm.Imported, "--corpus", tmp.File("corpus.txt"));
        Assert.Equal(2, none.ExitCode);
        Assert.Equal("error: search: give at least one --query \"...\" or --queries FILE.", none.StdErr.Trim());
        var missing = CliRunner.Run("search", "--model", MiniLm.Imported, "--corpus", tmp.File("nope.txt"), "--query", "x");
        Assert.Equal(2, missing.ExitCode);
        Assert.Equal($"error: --corpus {tmp.File("nope.txt")}: not found.", missing.StdErr.Trim());
        var topK = CliRunner.Run("search", "--model", MiniLm.Imported, "--corpus", tmp.File("corpus.txt"), "--query", "x", "--top-k", "0");
        Assert.Equal(2, topK.ExitCode);
        Assert.Equal("error: --top-k 0: expected at least 1.", topK.StdErr.Trim());
        // An empty query used to be answered with ranked neighbours; a queries file with invalid UTF-8 was read leniently.
        var empty = CliRunner.Run("search", "--model", MiniLm.Imported, "--corpus", tmp.File("corpus.txt"), "--query", " ");
        Assert.Equal(2, empty.ExitCode);
        Assert.Equal("error: --query: empty value; expected a text.", empty.StdErr.Trim());
        File.WriteAllBytes(tmp.File("queries.txt"), [.. "a fine film\n"u8, 0x62, 0xff, 0x0a]);
        var bytes = CliRunner.Run("search", "--model", MiniLm.Imported, "--corpus", tmp.File("corpus.txt"), "--queries", tmp.File("queries.txt"));
        Assert.Equal(2, bytes.ExitCode);
        Assert.Contains($"{tmp.File("queries.txt")}", bytes.StdErr, StringComparison.Ordinal);
        Assert.Contains("line 2", bytes.StdErr, StringComparison.Ordinal);
    }
}
