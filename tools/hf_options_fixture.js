// Writes tests/fixtures/tokenization/hf-options.json: HF tokenizers@0.23.2 encodings of bert-base-uncased under truncation
// strategies, strides, overflow and padding, plus decodes. node tools/hf_options_fixture.js VOCAB OUT (npm install tokenizers@0.23.2).
const { Tokenizer, WordPiece, bertNormalizer, bertPreTokenizer, bertProcessing, wordPieceDecoder } = require('tokenizers');
const fs = require('fs');
const A = 'The cat sat on the [MASK].';
const B = 'It was happy.';
const C = "I don't think this movie was as good as the critics said; the acting was wooden, the plot predictable and the ending far too long.";
const D = "Hello, y'all! How are you 😁 ? naïve café résumé 東京 unaffable";
const cases = [];
for (const [t, p] of [[A, B], [B, A], [C, D], [D, C], [C, null], [D, null]]) {
  for (const strategy of ['LongestFirst', 'OnlyFirst', 'OnlySecond']) {
    for (const [max, stride] of [[10, 0], [20, 2], [30, 5], [3, 0], [6, 0]]) {
      cases.push({ text: t, text_pair: p, max_length: max, strategy, stride, padding: null, side: 'right' });
    }
  }
}
for (const side of ['right', 'left']) {
  cases.push({ text: B, text_pair: null, max_length: 12, strategy: null, stride: 0, padding: 'max_length', side });
  cases.push({ text: C, text_pair: B, max_length: 16, strategy: 'OnlyFirst', stride: 3, padding: 'max_length', side });
  cases.push({ text: C, text_pair: null, max_length: 16, strategy: 'LongestFirst', stride: 4, padding: 'longest', side });
}
function dump(e) {
  return { ids: e.getIds(), type_ids: e.getTypeIds(), attention_mask: e.getAttentionMask(), special_tokens_mask: e.getSpecialTokensMask(),
    offsets: e.getOffsets(), word_ids: e.getWordIds().map((w) => (w === null || w === undefined ? -1 : w)),
    overflowing: e.getOverflowing().map(dump) };
}
(async () => {
  const [, , vocab, out] = process.argv;
  const model = await WordPiece.fromFile(vocab, { unkToken: '[UNK]', continuingSubwordPrefix: '##', maxInputCharsPerWord: 100 });
  const tok = new Tokenizer(model);
  tok.setNormalizer(bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: true, lowercase: true }));
  tok.setPreTokenizer(bertPreTokenizer());
  tok.addSpecialTokens(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
  tok.setPostProcessor(bertProcessing(['[SEP]', tok.tokenToId('[SEP]')], ['[CLS]', tok.tokenToId('[CLS]')]));
  tok.setDecoder(wordPieceDecoder('##', true));
  const results = [];
  for (const c of cases) {
    if (c.strategy) tok.setTruncation(c.max_length, { strategy: c.strategy, stride: c.stride }); else tok.disableTruncation();
    if (c.padding === 'max_length') tok.setPadding({ maxLength: c.max_length, direction: c.side });
    else if (c.padding === 'longest') tok.setPadding({ direction: c.side });
    else tok.disablePadding();
    try {
      const e = c.text_pair === null ? await tok.encode(c.text) : await tok.encode(c.text, c.text_pair);
      results.push({ ...c, expected: dump(e) });
    } catch (err) {
      results.push({ ...c, error: String(err.message || err).split('\n')[0] });
    }
  }
  tok.disableTruncation();
  tok.disablePadding();
  const decodes = [];
  for (const t of [A, B, C, D, "don't do not it's I'm we've you're , . ? !"]) {
    const ids = (await tok.encode(t)).getIds();
    decodes.push({ ids, skip: await tok.decode(ids, true), keep: await tok.decode(ids, false) });
  }
  fs.writeFileSync(out, JSON.stringify({ cases: results, decodes }));
  console.log(results.length, 'cases,', results.filter((r) => r.error).length, 'errors');
})();
