// Writes HF tokenizers@0.23.2 output for "a{c}b {c}{c}" for every code point c: node tools/hf_unicode_sweep.js VOCAB LOWERCASE OUT.jsonl [keep-accents]
// (npm install tokenizers@0.23.2 first). tests/fixtures/tokenization/unicode-sweep.hf-sha256.json holds per-plane SHA-256 of the output.
const { Tokenizer, WordPiece, bertNormalizer, bertPreTokenizer, bertProcessing } = require('tokenizers');
const fs = require('fs');
(async () => {
  const [, , vocab, lowerArg, out] = process.argv;
  const lower = lowerArg === 'true';
  const model = await WordPiece.fromFile(vocab, { unkToken: '[UNK]', continuingSubwordPrefix: '##', maxInputCharsPerWord: 100 });
  const tok = new Tokenizer(model);
  tok.setNormalizer(bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: process.argv[5] === "keep-accents" ? false : lower, lowercase: lower }));
  tok.setPreTokenizer(bertPreTokenizer());
  tok.addSpecialTokens(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
  const texts = [];
  for (let cp = 0; cp <= 0x10FFFF; cp++) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    const c = String.fromCodePoint(cp);
    texts.push(`a${c}b ${c}${c}`);
  }
  const lines = [];
  for (let i = 0; i < texts.length; i += 20000) {
    const encs = await tok.encodeBatch(texts.slice(i, i + 20000));
    for (const e of encs) lines.push(JSON.stringify([e.getIds(), e.getOffsets().flat()]));
  }
  fs.writeFileSync(out, lines.join('\n') + '\n');
  console.log(texts.length);
})();
