using BertSharp.Data;
using BertSharp.Inference;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tokenization;

namespace BertSharp.Tests.Data;

/// <summary>The readers and encoders of the task heads: CoNLL / JSON-lines tags and their word-piece labels, SQuAD answers and windows, SWAG choices.</summary>
public class HeadDataTests
{
    private static BertTokenizer Tokenizer => BertTokenizer.FromVocabFile(Path.Combine(TestPaths.Fixtures, "hf_bert", "token-classification", "vocab.txt"));

    [Fact]
    public void Conll_columns_give_sentences_and_skip_docstart()
    {
        const string text = "-DOCSTART- -X- -X- O\n\nJohn NNP B-NP B-PER\nlives VBZ B-VP O\nin IN B-PP O\nYork NNP B-NP B-LOC\n\r\n\nKim NNP B-NP B-PER\n";
        var s = TaggedCorpus.ReadConll("x.conll", text);
        Assert.Equal(2, s.Count);
        Assert.Equal(["John", "lives", "in", "York"], s[0].Words);
        Assert.Equal(["B-PER", "O", "O", "B-LOC"], s[0].Tags);
        Assert.Equal(3, s[0].Line);
        Assert.Equal(["Kim"], s[1].Words);
        Assert.Equal(["B-LOC", "B-PER", "O"], TaggedCorpus.Labels(s));
        // One tag throughout is refused naming the file (the message named no file).
        var one = Assert.Throws<BertSharpException>(() => TaggedCorpus.Labels(TaggedCorpus.ReadConll("x.conll", "a O\nb O\n"), source: "x.conll"));
        Assert.Equal("x.conll: token classification needs at least 2 tags; the training data has 1 (O).", one.Message);
        var e = Assert.Throws<BertSharpException>(() => TaggedCorpus.ReadConll("bad.conll", "John B-PER\nlonely\n"));
        Assert.Equal("bad.conll line 2: 'lonely' has one field; expected a word and its tag (CoNLL columns: word … tag).", e.Message);
    }

    [Fact]
    public void Conll_lines_with_another_number_of_columns_than_the_first_are_refused()
    {
        // Both were read: the TSV trained a tagger on 'hide' tagged '0' and 'sentence' tagged 'label', and the line that lost
        // its tag column had its word tagged '_'.
        var tsv = Assert.Throws<BertSharpException>(() => TaggedCorpus.ReadConll("train.tsv", "sentence\tlabel\nhide new secretions from the parental units \t0\n"));
        Assert.Equal("train.tsv line 2: 'hide new secretions from the parental un…' has 8 fields (line 1 has 2); expected the same CoNLL columns on every line (word … tag).", tsv.Message);
        var lost = Assert.Throws<BertSharpException>(() => TaggedCorpus.ReadConll("dev.conll", "-DOCSTART- -X- -X- O\n\nJohn NNP B-NP B-PER\nlives VBZ B-VP O\n\nin IN B-PP\n"));
        Assert.Equal("dev.conll line 6: 'in IN B-PP' has 3 fields (line 3 has 4); expected the same CoNLL columns on every line (word … tag).", lost.Message);
        // Tabs and spaces alike separate fields, and -DOCSTART- lines and blank lines are not counted.
        var mixed = TaggedCorpus.ReadConll("ok.conll", "-DOCSTART- O\n\nJohn\tB-PER\nlives  O\n\r\nKim \t B-PER\n");
        Assert.Equal([["John", "lives"], ["Kim"]], mixed.Select(x => x.Words));
        Assert.Equal([["B-PER", "O"], ["B-PER"]], mixed.Select(x => x.Tags));
    }

    [Fact]
    public void Json_lines_take_string_tags_or_integer_tags_with_a_label_list()
    {
        var s = TaggedCorpus.ReadJsonLines("a.jsonl", "{\"tokens\":[\"John\",\"sat\"],\"ner_tags\":[\"B-PER\",\"O\"]}\n\n{\"tokens\":[\"Kim\"],\"tags\":[\"B-PER\"]}\n", null);
        Assert.Equal(["B-PER", "O"], s[0].Tags);
        Assert.Equal(3, s[1].Line);
        var ints = TaggedCorpus.ReadJsonLines("b.jsonl", "{\"tokens\":[\"John\",\"sat\"],\"ner_tags\":[1,0]}", ["O", "B-PER"]);
        Assert.Equal(["B-PER", "O"], ints[0].Tags);
        var e = Assert.Throws<BertSharpException>(() => TaggedCorpus.ReadJsonLines("b.jsonl", "{\"tokens\":[\"John\"],\"ner_tags\":[1]}", null));
        Assert.Contains("b.jsonl line 1: field \"ner_tags\" holds integer tags; give the tag names with", e.Message, StringComparison.Ordinal);
        // An id past the list said "tag 9 is outside the 2 labels given", naming neither the field nor its entry; a line
        // without tags named only "tags", the field looked up when "ner_tags" is absent.
        Assert.Equal("b.jsonl line 1: field \"ner_tags\" entry 2 is 9; expected a tag id 0…1 (the 2 labels given).",
            Assert.Throws<BertSharpException>(() => TaggedCorpus.ReadJsonLines("b.jsonl", "{\"tokens\":[\"John\",\"x\"],\"ner_tags\":[1,9]}", ["O", "B-PER"])).Message);
        Assert.Equal("b.jsonl line 1: missing field \"ner_tags\" (or \"tags\"), a JSON array; expected \"tokens\" and \"ner_tags\".",
            Assert.Throws<BertSharpException>(() => TaggedCorpus.ReadJsonLines("b.jsonl", "{\"tokens\":[\"John\"]}", null)).Message);
        Assert.Equal("b.jsonl line 1: missing field \"tokens\", a JSON array; expected \"tokens\" and \"ner_tags\".",
            Assert.Throws<BertSharpException>(() => TaggedCorpus.ReadJsonLines("b.jsonl", "{\"words\":[\"John\"],\"ner_tags\":[\"O\"]}", null)).Message);
        Assert.Equal("b.jsonl line 1: field \"ner_tags\" is \"B-PER O\"; expected a JSON array (one entry per word).",
            Assert.Throws<BertSharpException>(() => TaggedCorpus.ReadJsonLines("b.jsonl", "{\"tokens\":[\"John\",\"x\"],\"ner_tags\":\"B-PER O\"}", null)).Message);
        e = Assert.Throws<BertSharpException>(() => TaggedCorpus.ReadJsonLines("c.jsonl", "{\"tokens\":[\"John\",\"x\"],\"ner_tags\":[\"O\"]}", null));
        Assert.Equal("c.jsonl line 1: 2 tokens but 1 ner_tags; expected one tag per token.", e.Message);
        e = Assert.Throws<BertSharpException>(() => TaggedCorpus.ReadJsonLines("d.jsonl", "{\"tokens\":[\"John\",\"x\"],\"tags\":[\"B-PER\",\"\"]}", null));
        Assert.Equal("d.jsonl line 1: field \"tags\" entry 2 is empty; expected a tag such as O or B-PER.", e.Message);
        // A tag of white space alone was read as a class of its own, though a given tag list refuses one.
        e = Assert.Throws<BertSharpException>(() => TaggedCorpus.ReadJsonLines("d.jsonl", "{\"tokens\":[\"John\",\"x\",\"y\"],\"tags\":[\"B-PER\",\"O\",\" \\t\"]}", null));
        Assert.Equal("d.jsonl line 1: field \"tags\" entry 3 is white space only; expected a tag such as O or B-PER.", e.Message);
        Assert.Equal(["O", "B-PER"], TaggedCorpus.ParseLabelList(" O, B-PER "));
        // The list read is refused by the same rule as a list given to the library, which the CLI says with its flag.
        e = Assert.Throws<BertSharpException>(() => TaggedCorpus.ParseLabelList("O,O"));
        Assert.Equal("labels O,O: classes \"0\" and \"1\" are both named \"O\"; expected each tag once, in id order.", e.Message);
        Assert.Equal("--labels O,O: classes \"0\" and \"1\" are both named \"O\"; expected each tag once, in id order.", Cli.CliErrors.Describe(e));
        Assert.Equal("labels O: token classification needs at least 2 tags; the list has 1 (O).",
            Assert.Throws<BertSharpException>(() => TaggedCorpus.ParseLabelList("O")).Message);
        // A tag list given for fine-tuning with an empty name is refused before training: seqeval failed on it at the first validation.
        e = Assert.Throws<BertSharpException>(() => TaggedCorpus.Labels(ints, ["O", "B-PER", ""]));
        Assert.Equal("labels: the name of class \"2\" is empty; expected a tag such as O or B-PER (seqeval reads the entities from the tag names).", e.Message);
        // Only the CLI's reading of the list refused a name given twice (two classes of one tag) or a single tag; the library took them.
        Assert.Equal("labels: classes \"0\" and \"2\" are both named \"O\"; expected each tag once, in id order.",
            Assert.Throws<BertSharpException>(() => TaggedCorpus.Labels(ints, ["O", "B-PER", "O"])).Message);
        Assert.Equal("labels: token classification needs at least 2 tags; the list has 1 (O).",
            Assert.Throws<BertSharpException>(() => TaggedCorpus.Labels(ints, ["O"])).Message);
        // A missing entry was reported as an empty name, and a name of white space alone was taken (the ONNX import refused it).
        Assert.Equal("labels: the name of class \"1\" is null; expected a tag such as O or B-PER (seqeval reads the entities from the tag names).",
            Assert.Throws<BertSharpException>(() => TaggedCorpus.Labels(ints, ["O", null!, "B-PER"])).Message);
        Assert.Equal("labels: the name of class \"1\" is white space only; expected a tag such as O or B-PER (seqeval reads the entities from the tag names).",
            Assert.Throws<BertSharpException>(() => TaggedCorpus.Labels(ints, ["O", " "])).Message);
        // A blank inside a label list is refused naming its line or entry (dropping it shifted the later labels' ids); blanks at the end are not labels.
        Assert.Equal(["O", "B-PER"], TaggedCorpus.ParseLabelList("O,B-PER,"));
        using var tmp = TestPaths.TempDir();
        var file = tmp.File("labels.txt");
        File.WriteAllText(file, "O\nB-PER\n\n");
        Assert.Equal(["O", "B-PER"], TaggedCorpus.ParseLabelList(file));
        File.WriteAllText(file, "O\n \nB-PER\n");
        // An entry of white space alone is said to be one, by the library's rule for a name (it was said to be empty).
        Assert.Equal($"labels {file} line 2 is white space only; expected one tag name per line, in id order (such as O or B-PER).",
            Assert.Throws<BertSharpException>(() => TaggedCorpus.ParseLabelList(file)).Message);
        File.WriteAllText(file, "O\n\nB-PER\n");
        Assert.Equal($"labels {file} line 2 is empty; expected one tag name per line, in id order (such as O or B-PER).",
            Assert.Throws<BertSharpException>(() => TaggedCorpus.ParseLabelList(file)).Message);
        Assert.Equal("labels O,,B-PER: entry 2 is empty; expected comma-separated tag names in id order (such as O,B-PER).",
            Assert.Throws<BertSharpException>(() => TaggedCorpus.ParseLabelList("O,,B-PER")).Message);
        Assert.Equal("--labels O, ,B-X: entry 2 is white space only; expected comma-separated tag names in id order (such as O,B-PER).",
            Cli.CliErrors.Describe(Assert.Throws<BertSharpException>(() => TaggedCorpus.ParseLabelList("O, ,B-X"))));
    }

    [Fact]
    public void Labels_go_to_the_first_word_piece_or_to_every_piece()
    {
        // "unaffable" is una ##ffa ##ble in the fixture vocabulary.
        var tags = new[] { "B-MISC", "I-MISC", "O" };
        var sentence = new TaggedSentence(["hello", "unaffable", "cafe"], ["O", "B-MISC", "O"], 1);
        var tok = Tokenizer;
        var first = TokenLabelAlignment.Encode(tok, sentence, tags, 64, labelAllTokens: false, "x");
        Assert.Equal(["[CLS]", "hello", "una", "##ffa", "##ble", "cafe", "[SEP]"], first.InputIds.Select(i => tok.Vocab[i]));
        Assert.Equal([-100L, 2, 0, -100, -100, 2, -100], first.Labels);
        Assert.Equal([1, 2, 5], first.WordStarts);
        // All pieces: B-MISC continues as I-MISC (HF's b_to_i_label).
        var all = TokenLabelAlignment.Encode(tok, sentence, tags, 64, labelAllTokens: true, "x");
        Assert.Equal([-100L, 2, 0, 1, 1, 2, -100], all.Labels);
        // A tag outside the labels was refused naming the list's 'index', and one past int's range wrapped onto B-MISC's id.
        Assert.Throws<ArgumentOutOfRangeException>("tag", () => TokenLabelAlignment.ContinuationOf(tags, 3));
        Assert.Throws<ArgumentOutOfRangeException>("tag", () => TokenLabelAlignment.ContinuationOf(tags, -1));
        Assert.Throws<ArgumentOutOfRangeException>("tag", () => TokenLabelAlignment.ContinuationOf(tags, 1L << 32));
        // Truncation keeps [SEP]; the words past the limit have no position.
        var cut = TokenLabelAlignment.Encode(tok, sentence, tags, 4, labelAllTokens: false, "x");
        Assert.Equal(["[CLS]", "hello", "una", "[SEP]"], cut.InputIds.Select(i => tok.Vocab[i]));
        Assert.Equal([1, 2, -1], cut.WordStarts);
        var e = Assert.Throws<BertSharpException>(() => TokenLabelAlignment.Encode(tok, sentence with { Tags = ["O", "B-ORG", "O"] }, tags, 64, false, "dev.conll"));
        // The sentence starts at line 1; its second token carries the unknown tag.
        Assert.Equal("dev.conll line 1: token 2 ('unaffable') has tag 'B-ORG', which is not one of the model's 3 tags (B-MISC, I-MISC, O).", e.Message);
    }

    [Fact]
    public void A_word_with_no_word_piece_is_an_error_not_a_truncated_word()
    {
        // A zero-width space (CoNLL columns keep it: it is not a field separator) and an empty JSON token both vanish in
        // the tokenizer's clean-up; before, the word kept no position and its tag was dropped as if cut off.
        var tags = new[] { "B-PER", "O" };
        var tok = Tokenizer;
        var conll = TaggedCorpus.ReadConll("train.conll", "-DOCSTART- O\n\nJohn B-PER\nsat O\n\u200B B-PER\n");
        var e = Assert.Throws<BertSharpException>(() => TokenLabelAlignment.Encode(tok, conll[0], tags, 64, false, "train.conll"));
        Assert.Equal("train.conll line 3: token 3 (U+200B) produces no word piece (the tokenizer removes whitespace, control and zero-width characters), so its tag 'B-PER' would be lost; expected a visible word.", e.Message);
        var json = TaggedCorpus.ReadJsonLines("train.jsonl", "{\"tokens\":[\"John\",\"\"],\"ner_tags\":[\"B-PER\",\"O\"]}", null);
        e = Assert.Throws<BertSharpException>(() => TokenLabelAlignment.Encode(tok, json[0], tags, 64, false, "train.jsonl"));
        Assert.Equal("train.jsonl line 1: token 2 (\"\") produces no word piece (the tokenizer removes whitespace, control and zero-width characters), so its tag 'O' would be lost; expected a visible word.", e.Message);
    }

    [Fact]
    public void Squad_json_gives_questions_answers_and_the_version()
    {
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("train.json");
        // answer_start counts code points: the emoji before "cat" is one character in Python, two UTF-16 units here.
        File.WriteAllText(path, """
            {"version": "v2.0", "data": [{"title": "t", "paragraphs": [{"context": "😁 the cat sat on the mat.",
              "qas": [{"id": "q1", "question": "who sat?", "answers": [{"text": "the cat", "answer_start": 2}]},
                      {"id": "q2", "question": "who flew?", "answers": [], "is_impossible": true}]}]}]}
            """);
        var d = SquadData.Read(path);
        Assert.True(d.Version2);
        Assert.Equal(2, d.Examples.Count);
        Assert.Equal(new SquadAnswer("the cat", 3), d.Examples[0].Answers[0]);
        Assert.True(d.Examples[1].IsImpossible);
        File.WriteAllText(path, """{"data": [{"paragraphs": [{"context": "abc", "qas": [{"id": "q9", "question": "?", "answers": [{"text": "zz", "answer_start": 1}]}]}]}]}""");
        var e = Assert.Throws<BertSharpException>(() => SquadData.Read(path));
        Assert.Equal($"{path}: question q9: answer 'zz' is not at answer_start 1 of its context.", e.Message);
        // An answer_start past the end of the context is the same error.
        File.WriteAllText(path, """{"data": [{"paragraphs": [{"context": "abc", "qas": [{"id": "q9", "question": "?", "answers": [{"text": "c", "answer_start": 7}]}]}]}]}""");
        e = Assert.Throws<BertSharpException>(() => SquadData.Read(path));
        Assert.Equal($"{path}: question q9: answer 'c' is not at answer_start 7 of its context.", e.Message);
        // The stray '}' is on the second line.
        File.WriteAllText(path, "{\"data\": [\n{\"paragraphs\": [}");
        e = Assert.Throws<BertSharpException>(() => SquadData.Read(path));
        Assert.StartsWith($"{path} line 2: not valid JSON ('}}' is an invalid start of a value)", e.Message, StringComparison.Ordinal);
        Assert.EndsWith("; expected SQuAD JSON ({\"data\": [{\"paragraphs\": [...]}]}).", e.Message, StringComparison.Ordinal);
    }

    // These said "a data[] lacks \"paragraphs\"" or "a paragraph lacks \"context\"", naming no entry; an empty file was
    // "not valid JSON" in .NET's words. (HF datasets' flat rows are read: SquadFlatRowsTests.)
    [Theory]
    [InlineData("""{"data": [{"paragraphs": []}, {"title": "t"}]}""",
        "data[1]: missing field \"paragraphs\" (an array); expected SQuAD JSON (data[].paragraphs[].qas[]).")]
    [InlineData("""{"data": [{"paragraphs": [{"context": "a", "qas": []}, {"context": ["b"], "qas": []}]}]}""",
        "data[0].paragraphs[1]: context: expected a string, got [\"b\"]; expected SQuAD JSON (data[].paragraphs[].qas[]).")]
    [InlineData("""{"data": [{"paragraphs": ["the cat"]}]}""",
        "data[0].paragraphs[0]: expected an object with \"context\" (a string), got \"the cat\"; expected SQuAD JSON (data[].paragraphs[].qas[]).")]
    [InlineData("""{"data": [{"paragraphs": [{"context": "the cat", "qas": [{"id": "q1", "answers": []}]}]}]}""",
        "question q1: missing field \"question\" (a string); expected SQuAD JSON (data[].paragraphs[].qas[]).")]
    [InlineData("", "empty file; expected SQuAD JSON ({\"data\": [{\"paragraphs\": [...]}]}).")]
    [InlineData("\n \r\n", "only blank lines; expected SQuAD JSON ({\"data\": [{\"paragraphs\": [...]}]}).")]
    public void Squad_json_of_another_layout_names_the_entry_and_the_field(string json, string expected)
    {
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("train.json");
        File.WriteAllText(path, json);
        Assert.Equal($"{path}: {expected}", Assert.Throws<BertSharpException>(() => SquadData.Read(path)).Message);
    }

    [Fact]
    public void Squad_json_refuses_a_non_boolean_is_impossible_a_missing_or_repeated_id_an_empty_answer_and_answers_that_contradict_is_impossible()
    {
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("dev.json");
        string Error(string qas)
        {
            File.WriteAllText(path, "{\"version\": \"v2.0\", \"data\": [{\"paragraphs\": [{\"context\": \"the cat sat\", \"qas\": [" + qas + "]}]}]}");
            return Assert.Throws<BertSharpException>(() => SquadData.Read(path)).Message;
        }
        Assert.Equal($"{path}: question q1: is_impossible: expected true or false, got \"yes\".",
            Error("""{"id": "q1", "question": "?", "is_impossible": "yes", "answers": [{"text": "cat", "answer_start": 4}]}"""));
        Assert.Equal($"{path}: data[0].paragraphs[0].qas[1]: id: missing; expected the question's unique id (a string).",
            Error("""{"id": "q1", "question": "?", "answers": []}, {"question": "??", "answers": []}"""));
        Assert.Equal($"{path}: data[0].paragraphs[0].qas[0]: id: expected the question's unique id (a non-empty string), got \"\".",
            Error("""{"id": "", "question": "?", "answers": []}"""));
        Assert.Equal($"{path}: question q1 (data[0].paragraphs[0].qas[1]): id: already used by data[0].paragraphs[0].qas[0]; expected a unique id per question (predictions are keyed by id).",
            Error("""{"id": "q1", "question": "?", "answers": []}, {"id": "q1", "question": "??", "answers": [{"text": "cat", "answer_start": 4}]}"""));
        Assert.Equal($"{path}: question q2: answer text: expected the answer's text, got \"\".",
            Error("""{"id": "q2", "question": "?", "is_impossible": false, "answers": [{"text": "", "answer_start": 4}]}"""));
        // SQuAD 2.0 puts an unanswerable question's candidates in "plausible_answers"; answers beside is_impossible: true
        // used to be dropped silently, and a question with no "answers" field became unanswerable.
        Assert.Equal($"{path}: question q3: is_impossible is true but \"answers\" holds 1 answer(s); expected \"answers\": [] for an unanswerable question (SQuAD 2.0 keeps its candidates in \"plausible_answers\").",
            Error("""{"id": "q3", "question": "?", "is_impossible": true, "answers": [{"text": "cat", "answer_start": 4}]}"""));
        Assert.Equal($"{path}: question q4: is_impossible is false but \"answers\" is empty; expected at least one answer (or \"is_impossible\": true for an unanswerable question).",
            Error("""{"id": "q4", "question": "?", "is_impossible": false, "answers": []}"""));
        Assert.Equal($"{path}: question q5: answers: missing; expected an array of {{\"text\", \"answer_start\"}} (or \"answers\": [] for an unanswerable question).",
            Error("""{"id": "q5", "question": "?"}"""));
        Assert.Equal($"{path}: question q6: answers: missing; expected an array of {{\"text\", \"answer_start\"}} (or \"answers\": [] for an unanswerable question).",
            Error("""{"id": "q6", "question": "?", "is_impossible": false, "plausible_answers": [{"text": "cat", "answer_start": 4}]}"""));
        Assert.Equal($"{path}: question q7: answers: expected an array of {{\"text\", \"answer_start\"}}, got {{\"text\": \"cat\", \"answer_start\": 4}}.",
            Error("""{"id": "q7", "question": "?", "answers": {"text": "cat", "answer_start": 4}}"""));
        Assert.Equal($"{path}: question q8: is_impossible: expected true or false, got 1.",
            Error("""{"id": "q8", "question": "?", "is_impossible": 1, "answers": []}"""));
        // A v2.0 unanswerable question keeps "answers": [] (is_impossible true, or no answers at all); with is_impossible
        // true the field may be left out, and plausible_answers are not gold answers.
        File.WriteAllText(path, """{"version": "v2.0", "data": [{"paragraphs": [{"context": "the cat sat", "qas": [{"id": "a", "question": "?", "is_impossible": true, "answers": []}, {"id": "b", "question": "?", "answers": []}, {"id": "c", "question": "?", "is_impossible": false, "answers": [{"text": "cat", "answer_start": 4}]}, {"id": "d", "question": "?", "is_impossible": true}, {"id": "e", "question": "?", "is_impossible": true, "answers": [], "plausible_answers": [{"text": "cat", "answer_start": 4}]}]}]}]}""");
        var d = SquadData.Read(path);
        Assert.Equal([true, true, false, true, true], d.Examples.Select(x => x.IsImpossible));
    }

    [Fact]
    public void Answer_positions_follow_hf_run_qa_in_every_window()
    {
        var tok = Tokenizer;
        var context = "the cat sat on the mat . it was happy . the dog was not . he said that never in his life had he seen a place like bangor .";
        var example = new SquadExample("q", "where?", context, [new SquadAnswer("bangor", context.IndexOf("bangor", StringComparison.Ordinal))]);
        var features = SquadData.TrainingFeatures(tok, [example], maxLength: 16, docStride: 4);
        Assert.True(features.Count > 3, "the context needs several windows");
        foreach (var f in features)
        {
            var inWindow = f.Encoding.Tokens.Contains("bangor");
            if (inWindow)
            {
                Assert.Equal("bangor", f.Encoding.Tokens[f.StartPosition]);
                Assert.Equal(f.StartPosition, f.EndPosition);
            }
            else
            {
                Assert.Equal((0, 0), (f.StartPosition, f.EndPosition));
            }
        }
        Assert.Contains(features, f => f.StartPosition > 0);
        // An answer cut by a window's end is no answer there (run_qa labels [CLS]), only in the window that holds all of it.
        // "where?" leaves 16 - 5 = 11 context tokens per window, stepping by 11 - 4 = 7 over the context's 31 one-piece words:
        // windows 0-10, 7-17, 14-24, 21-30. "had he seen" is words 23-25: the third window ends after "he", the fourth holds
        // it at 4 + 23 - 21 = 6 to 8.
        var straddled = new SquadExample("q", "where?", context, [new SquadAnswer("had he seen", context.IndexOf("had he seen", StringComparison.Ordinal))]);
        var cut = SquadData.TrainingFeatures(tok, [straddled], maxLength: 16, docStride: 4);
        Assert.Equal(["had", "he", "[SEP]"], cut[2].Encoding.Tokens[^3..]);
        Assert.Equal(["had", "he", "seen"], cut[3].Encoding.Tokens[6..9]);
        Assert.Equal([(0, 0), (0, 0), (0, 0), (6, 8)], cut.Select(f => (f.StartPosition, f.EndPosition)));
        // A multi-token answer: its first and last pieces.
        var window = QaWindowing.Windows(tok, "what?", "he said that a lazy dog sat", 64, 128)[0];
        var (s, e) = SquadData.AnswerSpan(window, new SquadAnswer("lazy dog", "he said that a ".Length));
        Assert.Equal(["lazy", "dog"], window.Tokens[s..(e + 1)]);
    }

    [Fact]
    public void Swag_csv_and_json_lines_give_choices()
    {
        using var tmp = TestPaths.TempDir();
        var csv = tmp.File("train.csv");
        File.WriteAllText(csv, "video-id,sent1,sent2,ending0,ending1,ending2,label\nv1,The cat sat.,It,was happy.,\"was sad, then happy.\",flew.,1\n");
        var c = SwagData.Read(csv);
        Assert.Equal(["It was happy.", "It was sad, then happy.", "It flew."], c[0].Pairs.Select(p => p.Second));
        Assert.Equal(1, c[0].Label);
        var jsonl = tmp.File("train.jsonl");
        File.WriteAllText(jsonl, "{\"sent1\":\"The cat sat.\",\"sent2\":\"\",\"ending0\":\"a\",\"ending1\":\"b\",\"label\":0}\n");
        var j = SwagData.Read(jsonl);
        Assert.Equal(["a", "b"], j[0].Pairs.Select(p => p.Second));
        File.WriteAllText(csv, "sent1,sent2,ending0,ending1,label\nx,y,a,b,2\n");
        var e = Assert.Throws<BertSharpException>(() => SwagData.Read(csv));
        Assert.Equal($"{csv} line 2: label '2' is not an ending index 0…1.", e.Message);
        File.WriteAllText(csv, "sent1,sent2,ending0,label\nx,y,a,0\n");
        e = Assert.Throws<BertSharpException>(() => SwagData.Read(csv));
        Assert.Contains("1 ending column(s)", e.Message, StringComparison.Ordinal);
        // An ending after a gap was dropped without a word: these questions trained on two endings of three.
        File.WriteAllText(csv, "sent1,sent2,ending0,ending1,ending3,label\nx,y,a,b,c,2\n");
        e = Assert.Throws<BertSharpException>(() => SwagData.Read(csv));
        Assert.Equal($"{csv}: 'ending3' but no 'ending2'; expected the endings as ending0, ending1, … with none left out.", e.Message);
        File.WriteAllText(jsonl, "{\"sent1\":\"s\",\"sent2\":\"\",\"ending0\":\"a\",\"ending1\":\"b\",\"label\":0}\n{\"sent1\":\"s\",\"sent2\":\"\",\"ending0\":\"a\",\"ending1\":\"b\",\"ending3\":\"c\",\"label\":0}\n");
        e = Assert.Throws<BertSharpException>(() => SwagData.Read(jsonl));
        Assert.Equal($"{jsonl} line 2: 'ending3' but no 'ending2'; expected the endings as ending0, ending1, … with none left out.", e.Message);
        // An empty or whitespace-only ending names its field and line, in CSV and in JSON lines; an empty sent2 stays allowed.
        File.WriteAllText(csv, "sent1,sent2,ending0,ending1,ending2,label\nx,y,a,b,c,0\nx,,a,b,\"  \",0\n");
        e = Assert.Throws<BertSharpException>(() => SwagData.Read(csv));
        Assert.Equal($"{csv} line 3: field 'ending2' is empty; expected the ending's text.", e.Message);
        File.WriteAllText(jsonl, "{\"sent1\":\"The cat sat.\",\"sent2\":\"\",\"ending0\":\"\",\"ending1\":\"b\",\"label\":1}\n");
        e = Assert.Throws<BertSharpException>(() => SwagData.Read(jsonl));
        Assert.Equal($"{jsonl} line 1: field 'ending0' is empty; expected the ending's text.", e.Message);
        var feature = SwagData.Encode(Tokenizer, c[0], 64);
        Assert.Equal(3, feature.Choices.Count);
        Assert.Equal(1L, feature.Label);
        // A question whose longest choice is exactly max_length tokens was not cut; it was counted as cut, and the plan's
        // warning called it longer than max_length.
        var length = feature.Length;
        Assert.Equal((0, length), SwagData.CountTruncated(Tokenizer, [c[0]], [SwagData.Encode(Tokenizer, c[0], length)], length));
        Assert.Equal((1, length), SwagData.CountTruncated(Tokenizer, [c[0]], [SwagData.Encode(Tokenizer, c[0], length - 1)], length - 1));
    }

    // HF datasets' json loader reads a JSON array of records (or one object) spread over lines as well as JSON lines; every
    // JSON-lines reader here called such a file "line 1: not valid JSON (… reached end of data)". A broken line stays that error.
    [Theory]
    [InlineData("ner", "[\n {\"tokens\": [\"EU\"], \"ner_tags\": [\"B-ORG\"]},\n {\"tokens\": [\"x\"], \"ner_tags\": [\"O\"]}\n]\n", "one JSON array over several lines")]
    [InlineData("swag", "{\n \"sent1\": \"s\", \"sent2\": \"t\", \"ending0\": \"a\", \"ending1\": \"b\", \"label\": 0\n}\n", "one JSON object over several lines")]
    [InlineData("classification", "[{\"text\": \"good\", \"label\": 1},\n {\"text\": \"bad\", \"label\": 0}]", "one JSON array over several lines")]
    public void Json_lines_readers_name_a_json_document_over_several_lines(string reader, string content, string what)
    {
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("data.json");
        File.WriteAllText(path, content);
        Action read = reader switch
        {
            "ner" => () => TaggedCorpus.Read(path),
            "swag" => () => SwagData.Read(path),
            _ => () => DatasetReader.Read(path, TaskSpec.Get("jsonl")),
        };
        Assert.Equal($"{path}: {what}; expected JSON lines, one object per line (as HF datasets' to_json writes them).",
            Assert.Throws<BertSharpException>(read).Message);
        File.WriteAllText(path, content.Replace("\n", "\n{\n", StringComparison.Ordinal));
        Assert.StartsWith($"{path} line 1: not valid JSON (", Assert.Throws<BertSharpException>(read).Message, StringComparison.Ordinal);
    }

    // An empty or blank file was "no column 'sent1' in the header ()", and prediction (no labels needed) was asked for a label.
    [Theory]
    [InlineData("", true, ": empty file; expected sent1, sent2, ending0…endingN and label.")]
    [InlineData("\n \n", false, ": no questions, only blank lines; expected sent1, sent2 and ending0…endingN.")]
    [InlineData("sent1,sent2,ending0,ending1,label\n", false, ": no questions; expected sent1, sent2 and ending0…endingN per row.")]
    [InlineData("sent1,sent2,ending0,ending1,label\n", true, ": no questions; expected sent1, sent2, ending0…endingN and label per row.")]
    public void Swag_files_without_questions_are_named_as_such(string content, bool requireLabels, string expected)
    {
        using var tmp = TestPaths.TempDir();
        var csv = tmp.File("dev.csv");
        File.WriteAllText(csv, content);
        Assert.Equal(csv + expected, Assert.Throws<BertSharpException>(() => SwagData.Read(csv, requireLabels)).Message);
    }
}
