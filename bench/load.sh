#!/usr/bin/env bash
# Bounded loopback load test of `bert serve`: micro-batching on (--max-batch 32) vs off (--max-batch 1), same model, same
# clients. Builds the CLI, makes a small SST-2 classifier (preset mini, 1 short epoch: the weights do not matter for speed),
# then for each setting starts the server on a free port, runs CLIENTS x REQUESTS /v1/classify calls, and stops it.
# Prints a markdown table (also written to bench/results/serve-load.md).
#
# Usage: bench/load.sh [CLIENTS=16] [REQUESTS=25] [PRESET=mini]
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
clients=${1:-16}
requests=${2:-25}
preset=${3:-mini}
work=$(mktemp -d)
server_pid=""
cleanup() { [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

dotnet build src/BertSharp.Cli -c Release -v q -nologo >/dev/null
bert="dotnet src/BertSharp.Cli/bin/Release/net10.0/bert.dll"
$bert finetune --task sst2 --data samples/sst2/train.tsv --config "$preset" --vocab samples/vocab/bert-base-uncased-vocab.txt \
  --epochs 1 --max-train-examples 64 --max-length 64 --output "$work/model" > "$work/finetune.log" 2>&1 \
  || { cat "$work/finetune.log"; exit 1; }
cut -f1 samples/sst2/dev.tsv | tail -n +2 > "$work/texts.txt"

run() { # $1 = label, $2.. = extra serve flags
  local label=$1; shift
  $bert serve --model "$work/model" --port 0 --device cpu --max-length 64 "$@" > "$work/serve.log" 2>&1 &
  server_pid=$!
  local url=""
  for _ in $(seq 120); do
    url=$(grep -o 'on http://[0-9.:]*' "$work/serve.log" | head -1 | cut -c4- || true)
    [[ -n "$url" ]] && break
    sleep 0.5
  done
  [[ -n "$url" ]] || { echo "server did not start:"; cat "$work/serve.log"; exit 1; }
  local result
  result=$(node bench/serve-load.mjs "$url" /v1/classify "$work/texts.txt" "$clients" "$requests")
  local batches
  batches=$(curl -s "$url/health" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const b=JSON.parse(s).batching.classify;console.log(`${b.batches} batches / ${b.requests} inputs`)})')
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
  node -e 'const r=JSON.parse(process.argv[1]);console.log(`| ${process.argv[2]} | ${r.requests} | ${r.errors} | ${r.rps} | ${r.p50_ms} | ${r.p99_ms} | ${process.argv[3]} |`)' "$result" "$label" "$batches"
}

{
  echo "Preset $preset classifier, max length 64, $clients concurrent clients x $requests requests each, /v1/classify on loopback, $(nproc) CPU cores."
  echo
  echo "| setting | requests | errors | requests/s | p50 ms | p99 ms | batching |"
  echo "|---|---|---|---|---|---|---|"
  run "micro-batching on (--max-batch 32)" --max-batch 32
  run "micro-batching off (--max-batch 1)" --max-batch 1
} | tee "$work/table.md"
mkdir -p bench/results
cp "$work/table.md" bench/results/serve-load.md
