using BertSharp.Data;
using BertSharp.Inference;
using BertSharp.Modeling;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tokenization;
using BertSharp.Training;

namespace BertSharp.Tests.Data;

/// <summary>
/// HF datasets' flat SQuAD rows (JSON lines, a JSON array, rows under "data"), read as the nested layout of the same questions,
/// and the plan line of QA fine-tuning.
/// </summary>
public class SquadFlatRowsTests
{
    // Two paragraphs, the first with an emoji before the answer (one code point, two UTF-16 units), a question with two gold
    // answers, and an unanswerable one in the v2 files.
    private const string Nested = """
        {"data": [{"title": "t", "paragraphs": [
          {"context": "😁 the cat sat on the mat.", "qas": [
            {"id": "q1", "question": "who sat?", "answers": [{"text": "the cat", "answer_start": 2}, {"text": "cat", "answer_start": 6}]},
            {"id": "q2", "question": "on what?", "answers": [{"text": "the mat", "answer_start": 17}]}]},
          {"context": "Oslo is cold.", "qas": [
            {"id": "q3", "question": "what is cold?", "answers": [{"text": "Oslo", "answer_start": 0}]}%NOANSWER%]}]}]}
        """;

    private static readonly string[] Rows =
    [
        """{"id": "q1", "title": "t", "context": "😁 the cat sat on the mat.", "question": "who sat?", "answers": {"text": ["the cat", "cat"], "answer_start": [2, 6]}}""",
        """{"id": "q2", "title": "t", "context": "😁 the cat sat on the mat.", "question": "on what?", "answers": {"text": ["the mat"], "answer_start": [17]}}""",
        """{"id": "q3", "title": "t", "context": "Oslo is cold.", "question": "what is cold?", "answers": {"text": ["Oslo"], "answer_start": [0]}}""",
    ];

    private const string NestedNoAnswer = """, {"id": "q4", "question": "what is hot?", "answers": []}""";
    private const string RowNoAnswer = """{"id": "q4", "title": "t", "context": "Oslo is cold.", "question": "what is hot?", "answers": {"text": [], "answer_start": []}}""";

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Flat_rows_in_each_layout_give_the_dataset_of_the_nested_file(bool unanswerable)
    {
        using var tmp = TestPaths.TempDir();
        var nestedPath = tmp.File("nested.json");
        File.WriteAllText(nestedPath, Nested.Replace("%NOANSWER%", unanswerable ? NestedNoAnswer : "", StringComparison.Ordinal));
        var nested = SquadData.Read(nestedPath);
        Assert.Equal(unanswerable, nested.Version2);
        Assert.Equal(new SquadAnswer("cat", 7), nested.Examples[0].Answers[1]);
        var rows = unanswerable ? [.. Rows, RowNoAnswer] : Rows;
        var layouts = new Dictionary<string, string>
        {
            ["lines"] = string.Join("\n", rows) + "\n",
            ["array"] = "[\n" + string.Join(",\n", rows) + "\n]",
            ["data"] = "{\"data\": [" + string.Join(", ", rows) + "]}",
        };
        foreach (var (name, content) in layouts)
        {
            var path = tmp.File(name + ".json");
            File.WriteAllText(path, content);
            var flat = SquadData.Read(path);
            // ToJson writes every field of every question and answer: equal text, equal datasets.
            Assert.Equal(SquadData.ToJson(nested.Examples), SquadData.ToJson(flat.Examples));
            Assert.Equal(nested.Version2, flat.Version2);
        }
    }

    [Fact]
    public void Flat_rows_follow_the_version_rule_of_nested_files()
    {
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("dev.json");
        // One row: a file of one line is one JSON document.
        File.WriteAllText(path, Rows[2]);
        Assert.False(SquadData.Read(path).Version2);
        // The version field beside "data" says v2.0 with every question answerable, as for nested files.
        File.WriteAllText(path, "{\"version\": \"v2.0\", \"data\": [" + Rows[2] + "]}");
        Assert.True(SquadData.Read(path).Version2);
        File.WriteAllText(path, "{\"version\": \"1.1\", \"data\": [" + Rows[2] + "]}");
        Assert.False(SquadData.Read(path).Version2);
        File.WriteAllText(path, """{"id": "q", "context": "ab", "question": "?", "is_impossible": true}""");
        var d = SquadData.Read(path);
        Assert.True(d.Version2);
        Assert.True(d.Examples[0].IsImpossible);
    }

    [Theory]
    [InlineData("""{"id": "a", "question": "?", "answers": {"text": [], "answer_start": []}}""",
        "line 2: question a: missing field \"context\" (a string); expected HF datasets' squad rows ({\"id\", \"context\", \"question\", \"answers\": {\"text\": [...], \"answer_start\": [...]}}).")]
    [InlineData("""{"id": "a", "context": "the cat", "answers": {"text": [], "answer_start": []}}""",
        "line 2: question a: missing field \"question\" (a string); expected HF datasets' squad rows ({\"id\", \"context\", \"question\", \"answers\": {\"text\": [...], \"answer_start\": [...]}}).")]
    [InlineData("""{"id": "a", "context": "the cat", "question": "?"}""",
        "line 2: question a: answers: missing; expected {\"text\": [...], \"answer_start\": [...]} (empty lists for an unanswerable question).")]
    [InlineData("""{"id": "a", "context": "the cat", "question": "?", "answers": [{"text": "cat", "answer_start": 4}]}""",
        "line 2: question a: answers: expected {\"text\": [...], \"answer_start\": [...]}, got [{\"text\": \"cat\", \"answer_start\": 4}].")]
    [InlineData("""{"id": "a", "context": "the cat", "question": "?", "answers": {"text": ["cat"]}}""",
        "line 2: question a: answers.answer_start: missing; expected {\"text\": [...], \"answer_start\": [...]} (empty lists for an unanswerable question).")]
    [InlineData("""{"id": "a", "context": "the cat", "question": "?", "answers": {"text": ["cat", "the"], "answer_start": [4]}}""",
        "line 2: question a: answers: 2 text(s) but 1 answer_start(s); expected one answer_start per text.")]
    [InlineData("""{"id": "a", "context": "the cat", "question": "?", "answers": {"text": ["cat"], "answer_start": [4.5]}}""",
        "line 2: question a: answers.answer_start[0]: expected an integer (a character offset ≥ 0), got 4.5.")]
    [InlineData("""{"id": "a", "context": "the cat", "question": "?", "answers": {"text": ["the", "cat"], "answer_start": [0, "4"]}}""",
        "line 2: question a: answers.answer_start[1]: expected an integer (a character offset ≥ 0), got \"4\".")]
    [InlineData("""{"id": "a", "context": "the cat", "question": "?", "answers": {"text": ["cat"], "answer_start": [3]}}""",
        "line 2: question a: answer 'cat' is not at answers.answer_start[0] 3 of its context.")]
    [InlineData("""{"id": "a", "context": "the cat", "question": "?", "answers": {"text": [""], "answer_start": [0]}}""",
        "line 2: question a: answers.text[0]: expected the answer's text, got \"\".")]
    [InlineData("""{"id": "a", "context": "the cat", "question": "?", "is_impossible": false, "answers": {"text": [], "answer_start": []}}""",
        "line 2: question a: is_impossible is false but \"answers\" is empty; expected at least one answer (or \"is_impossible\": true for an unanswerable question).")]
    [InlineData("""{"context": "the cat", "question": "?", "answers": {"text": [], "answer_start": []}}""",
        "line 2: id: missing; expected the question's unique id (a string).")]
    [InlineData("""["the cat"]""", "line 2: expected a question object (\"id\", \"context\", \"question\", \"answers\"), got [\"the cat\"].")]
    public void A_bad_flat_row_is_named_by_its_line_question_and_field(string row, string expected)
    {
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("train.jsonl");
        File.WriteAllText(path, Rows[0] + "\n" + row + "\n");
        Assert.Equal($"{path} {expected}", Assert.Throws<BertSharpException>(() => SquadData.Read(path)).Message);
    }

    [Fact]
    public void A_bad_flat_row_in_an_array_is_named_by_its_index_and_ids_are_unique_across_rows()
    {
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("train.json");
        File.WriteAllText(path, "{\"data\": [" + Rows[0] + ", {\"id\": \"b\", \"question\": \"?\"}]}");
        Assert.Equal($"{path}: data[1]: question b: missing field \"context\" (a string); expected HF datasets' squad rows ({{\"id\", \"context\", \"question\", \"answers\": {{\"text\": [...], \"answer_start\": [...]}}}}).",
            Assert.Throws<BertSharpException>(() => SquadData.Read(path)).Message);
        File.WriteAllText(path, "[" + Rows[0] + ", " + Rows[0] + "]");
        Assert.Equal($"{path}: question q1 ([1]): id: already used by [0]; expected a unique id per question (predictions are keyed by id).",
            Assert.Throws<BertSharpException>(() => SquadData.Read(path)).Message);
        File.WriteAllText(path, Rows[1] + "\n" + Rows[1] + "\n");
        Assert.Equal($"{path}: question q2 (line 2): id: already used by line 1; expected a unique id per question (predictions are keyed by id).",
            Assert.Throws<BertSharpException>(() => SquadData.Read(path)).Message);
        // A broken line after a row is that line's error, not the file's.
        File.WriteAllText(path, Rows[1] + "\n{\"id\": \n");
        Assert.StartsWith($"{path} line 2: not valid JSON (", Assert.Throws<BertSharpException>(() => SquadData.Read(path)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_qa_plan_counts_one_question_and_one_window_in_the_singular()
    {
        using var tmp = TestPaths.TempDir();
        var data = tmp.File("train.jsonl");
        var tokenizer = BertTokenizer.FromVocabFile(Path.Combine(TestPaths.Fixtures, "hf_bert", "question-answering", "vocab.txt"));
        string Plan(string context, string answer, int maxLength)
        {
            File.WriteAllText(data, $$$"""{"id": "q", "context": "{{{context}}}", "question": "who?", "answers": {"text": ["{{{answer}}}"], "answer_start": [{{{context.IndexOf(answer, StringComparison.Ordinal)}}}]}}""");
            var options = new HeadFineTuneOptions { Task = HeadTask.QuestionAnswering, Training = new TrainingOptions { DataPath = data, OutputDir = tmp.File("out") }, DocStride = 2 };
            var source = new ModelSource(BertConfig.FromPresetOrFile("tiny"), "m/config.json", null, tokenizer);
            return new QaRecipe(options, source, maxLength, validates: false).Notes[0];
        }
        Assert.StartsWith("SQuAD v1.1: 1 question → 1 window of 32 tokens (doc stride 2); 0 windows without the answer learn to point at [CLS]",
            Plan("the cat sat", "cat", 32), StringComparison.Ordinal);
        // Seven context tokens a window (12 less [CLS] who ? [SEP] [SEP]) and a stride of 2: nine make two windows, the answer in the first.
        var two = Plan("the cat sat on the mat and the dog", "cat", 12);
        Assert.Contains("1 question → 2 windows of 12 tokens", two, StringComparison.Ordinal);
        Assert.Contains("; 1 window without the answer learns to point at [CLS]", two, StringComparison.Ordinal);
    }
}
