#!/usr/bin/env bash
# The long run of the fuzzing harness (tests/BertSharp.Fuzz): INPUTS inputs per target (default 250,000, i.e. 1,000,000
# across tokenizer, pickle, safetensors and datasets), at the lowest CPU priority so it can run beside other work.
# Prints one JSON line per target and a total: inputs, clean refusals, crashes, hangs, seconds, slowest input.
# Crashes and hangs are saved under $OUT/findings (replay one with: dotnet tests/BertSharp.Fuzz/bin/Release/net10.0/
# BertSharp.Fuzz.dll --target NAME --replay FILE). Exit 0 only when nothing crashed or hung.
#   INPUTS=250000 SEED=1 HANG=30 bench/fuzz.sh
set -uo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
INPUTS=${INPUTS:-250000}
SEED=${SEED:-1}
HANG=${HANG:-30}
OUT=${OUT:-bench/results/fuzz}
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build tests/BertSharp.Fuzz -c Release -v q -nologo >/dev/null || { echo "fuzz.sh: build failed" >&2; exit 1; }
mkdir -p "$OUT"
# Run a copy of the binaries, so that builds during a long run cannot replace files the run has mapped.
bin=$(mktemp -d /tmp/bertsharp-fuzz-bin.XXXXXX)
trap 'rm -rf "$bin"' EXIT
cp -r tests/BertSharp.Fuzz/bin/Release/net10.0/. "$bin"
start=$(date -u +%FT%TZ)
nice -n 19 dotnet "$bin/BertSharp.Fuzz.dll" --target all --inputs "$INPUTS" --seed "$SEED" \
  --hang-seconds "$HANG" --findings "$OUT/findings" 2>"$OUT/stderr.log" | tee "$OUT/report.jsonl"
rc=${PIPESTATUS[0]}
echo "fuzz.sh: started $start, finished $(date -u +%FT%TZ), exit $rc (0: no crash, 1: crashes, 3: a hang)" | tee -a "$OUT/report.jsonl"
exit "$rc"
