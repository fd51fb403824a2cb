// Tokenizes each argument after the vocabulary with BertSharp.Tokenizers alone and prints one JSON line per text:
//   dotnet run --project Tokenize -- ../../samples/vocab/bert-base-uncased-vocab.txt "Hello, world!"
using System.Text.Json;
using BertSharp.Tokenization;

if (args.Length < 2)
{
    Console.Error.WriteLine("usage: Tokenize VOCAB.txt TEXT [TEXT...]");
    return 2;
}
var tokenizer = BertTokenizer.FromVocabFile(args[0], lowercase: true);
foreach (var text in args.Skip(1))
{
    var encoding = tokenizer.Encode(text, options: new EncodeOptions { MaxLength = 32 });
    Console.WriteLine(JsonSerializer.Serialize(new { text, tokens = encoding.Tokens, ids = encoding.Ids }));
}
return 0;
