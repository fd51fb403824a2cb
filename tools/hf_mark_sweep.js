// Writes HF tokenizers@0.23.2 ids and offsets for sequences of combining marks, the case the per-code-point sweep
// (hf_unicode_sweep.js) cannot see: NFD's canonical reordering of marks across code points and how HF aligns the
// reordered characters. Texts: every combining mark (\p{M}, planes 0, 1 and 14) in fixed contexts (before a class-1 mark,
// after a class-230 mark, after a precomposed letter, next to marks that survive accent stripping, across a control
// character that cleaning removes, with bases from several planes), then 4,000 seeded random mixtures.
// node tools/hf_mark_sweep.js UNCASED_VOCAB CASED_VOCAB OUT.jsonl (npm install tokenizers@0.23.2 first); gzip OUT.
const { Tokenizer, WordPiece, bertNormalizer, bertPreTokenizer } = require('tokenizers');
const fs = require('fs');

function rng(seed) { // mulberry32
  return () => {
    seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

(async () => {
  const [, , uncasedVocab, casedVocab, out] = process.argv;
  async function make(vocab, lowercase) {
    const model = await WordPiece.fromFile(vocab, { unkToken: '[UNK]', continuingSubwordPrefix: '##', maxInputCharsPerWord: 100 });
    const tok = new Tokenizer(model);
    tok.setNormalizer(bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: true, lowercase }));
    tok.setPreTokenizer(bertPreTokenizer());
    tok.addSpecialTokens(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
    return tok;
  }
  const settings = { uncased: await make(uncasedVocab, true), 'cased-strip-accents': await make(casedVocab, false) };
  const marks = [];
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    if (/\p{M}/u.test(String.fromCodePoint(cp))) marks.push(cp);
  }
  const c = (cp) => String.fromCodePoint(cp);
  // Marks that survive HF's accent stripping (not Mn in its Unicode 8.0 table) make the alignment of reordered text visible.
  const keep = [0x1e944, 0x1d165, 0x1d16d, 0x0f39, 0x0903];
  const texts = [];
  for (const m of marks) {
    const x = c(m);
    texts.push(`x${x}\u0334 y\u0301${x}${c(0x1e944)} \u00e9${x}${c(0x1d165)} z${c(0x1e944)}${x}\u0327 w${x}\u0000\u0334${c(0x1e944)} q\u0f73${x}${c(0x1d16d)} ${c(0x1d538)}${x}\u0f39\u0316 ${c(0x20000)}${x}\u0301 A${x}${c(0xe0041)}\u0334${c(0x1e944)}`);
  }
  const random = rng(20240621);
  const pick = (a) => a[Math.floor(random() * a.length)];
  const bases = ['a', 'E', 'ı', 'é', 'Å', 'ǖ', 'ọ', 'ά', 'ё', 'ש', 'ب', 'क', 'ক', 'ก', 'ཀ', '가', '東', c(0x1d538), c(0x20000), c(0x10400), ' ', '.', '\u0000', '\u00a0', c(0xe0041), c(0xf0000), '[MASK]', '##'];
  const common = [0x300, 0x301, 0x302, 0x303, 0x308, 0x316, 0x31b, 0x327, 0x328, 0x334, 0x345, 0x5b0, 0x5bc, 0x64b, 0x651, 0x94d, 0x93c, 0xe48, 0xf71, 0xf72, 0xf73, 0xf74, 0xf80, 0x302a, 0x3099, 0x1dce, 0x1d16e, 0x1e944, 0x1d165, 0x1d16d];
  for (let i = 0; i < 4000; i++) {
    let s = '';
    const len = 1 + Math.floor(random() * 12);
    for (let k = 0; k < len; k++) {
      s += pick(bases);
      const n = Math.floor(random() * 5);
      for (let j = 0; j < n; j++) s += c(random() < 0.7 ? pick(common) : pick(marks));
    }
    texts.push(s);
  }
  const lines = [];
  for (const text of texts) {
    const row = { text };
    for (const [name, tok] of Object.entries(settings)) {
      const e = await tok.encode(text);
      row[name] = [e.getIds(), e.getOffsets().flat()];
    }
    lines.push(JSON.stringify(row));
  }
  fs.writeFileSync(out, lines.join('\n') + '\n');
  console.log(marks.length, 'marks,', texts.length, 'texts');
})();
