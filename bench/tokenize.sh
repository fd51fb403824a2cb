#!/usr/bin/env bash
# Tokenizer speed, all peers in ONE run on this machine over the same texts (default: the 25,000 IMDb test reviews):
#   HF tokenizers (npm tokenizers@0.23.2, installed here into bench/.hf) single-threaded (RAYON_NUM_THREADS=1) and on all cores,
#   BertSharp `bert bench tokenize` on 1, 2, 4, ... cores, Microsoft.ML.Tokenizers BertTokenizer on 1 and all cores.
# Each number is the fastest of ROUNDS passes after a warm-up; tokens include [CLS]/[SEP]. Prints a Markdown table.
# Env: VOCAB (default bert-base-uncased), INPUT (default IMDb test.csv.gz), LOWERCASE (true), ROUNDS (3), BERTSHARP_SHARED.
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
shared=${BERTSHARP_SHARED:-$root/../shared}
vocab=${VOCAB:-$shared/data/vocab/bert-base-uncased-vocab.txt}
input=${INPUT:-$shared/data/imdb/test.csv.gz}
lowercase=${LOWERCASE:-true}
rounds=${ROUNDS:-3}
cores=$(nproc)
threads=1; t=2; while (( t < cores )); do threads+=",$t"; t=$((t * 2)); done; (( cores > 1 )) && threads+=",$cores"
for f in "$vocab" "$input"; do [[ -f "$f" ]] || { echo "tokenize.sh: $f not found (set VOCAB/INPUT or BERTSHARP_SHARED)" >&2; exit 2; }; done
command -v node >/dev/null || { echo "tokenize.sh: node (Node.js 18+) is required for the HF peer: apt-get install nodejs npm" >&2; exit 2; }

hf="$root/bench/.hf"
if [[ "$(node -p "try{require('$hf/node_modules/tokenizers/package.json').version}catch(e){''}")" != "0.23.2" ]]; then
  echo "installing npm tokenizers@0.23.2 into bench/.hf ..." >&2
  mkdir -p "$hf" && npm install --prefix "$hf" --no-audit --no-fund --silent tokenizers@0.23.2 >&2
fi
echo "building BertSharp CLI and bench (Release) ..." >&2
dotnet build "$root/bench/BertSharp.Bench/BertSharp.Bench.csproj" -c Release --nologo -v q -clp:ErrorsOnly >&2
"$root/bert" --help >/dev/null   # builds the CLI on first use

results=$(mktemp); trap 'rm -f "$results"' EXIT
run() { local name=$1; shift; echo "running $name ..." >&2; "$@" | while read -r line; do echo "$name	$line"; done >>"$results"; }
run "HF tokenizers 0.23.2" env RAYON_NUM_THREADS=1 NODE_PATH="$hf/node_modules" node "$root/bench/hf_tokenize.js" "$vocab" "$input" "$lowercase" "$rounds"
run "BertSharp" "$root/bert" bench tokenize --vocab "$vocab" --input "$input" --lowercase "$lowercase" --rounds "$rounds" --threads "$threads"
run "Microsoft.ML.Tokenizers 2.0.1" dotnet "$root/bench/BertSharp.Bench/bin/Release/net10.0/BertSharp.Bench.dll" --mlnet --vocab "$vocab" --input "$input" --lowercase "$lowercase" --rounds "$rounds" --threads "1,$cores"
if (( cores > 1 )); then
  run "HF tokenizers 0.23.2" env RAYON_NUM_THREADS="$cores" NODE_PATH="$hf/node_modules" node "$root/bench/hf_tokenize.js" "$vocab" "$input" "$lowercase" "$rounds"
fi

echo
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $cores cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end; $(dotnet --version | sed 's/^/.NET SDK /'), node $(node --version)"
echo "input: $(basename "$input"), vocab: $(basename "$vocab"), lowercase=$lowercase, best of $rounds rounds"
echo
node - "$results" <<'JS'
const rows = require('fs').readFileSync(process.argv[2], 'utf8').trim().split('\n').map((l) => {
  const [name, json] = l.split('\t'); return { name, ...JSON.parse(json) };
});
const hf1 = rows.find((r) => r.name.startsWith('HF') && r.threads === 1);
const bs1 = rows.find((r) => r.name === 'BertSharp' && r.threads === 1);
const fmt = (n) => Math.round(n).toLocaleString('en-US');
console.log('| tokenizer | threads | texts | tokens | seconds | tokens/s | vs HF 1 thread |');
console.log('|---|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(`| ${r.name} | ${r.threads} | ${fmt(r.texts)} | ${fmt(r.tokens)} | ${r.seconds.toFixed(2)} | ${fmt(r.tokens_per_second)} | ${(r.tokens_per_second / hf1.tokens_per_second).toFixed(2)}x |`);
}
console.log();
console.log(`BertSharp and HF token counts ${bs1.tokens === hf1.tokens ? 'identical' : `DIFFER (${bs1.tokens} vs ${hf1.tokens})`}` +
  `; BertSharp 1 thread = ${(bs1.tokens_per_second / hf1.tokens_per_second).toFixed(1)}x HF 1 thread` +
  `, ${(bs1.tokens_per_second / rows.find((r) => r.name.startsWith('Microsoft') && r.threads === 1).tokens_per_second).toFixed(1)}x ML.Tokenizers 1 thread.`);
JS
