#!/usr/bin/env bash
# What loading a bert-base-sized model costs: peak RSS and CPU seconds of `bert fill-mask` and `bert embed` on one short text
# with a random bert-base BertForPreTraining (440 MB of float32 weights, written once by BertSharp.Bench --random-model to
# bench/.load-memory/base as model.safetensors, and by --as-bin and --as-shards as the same weights in a pytorch_model.bin,
# base.bin, and in 3 safetensors shards with their index, base-shards), against the same command on the tiny shipped model
# (the process baseline: runtime, libtorch, tokenizer). The ideal is the weights' size: the script prints (peak RSS −
# baseline) / model.safetensors size, 1.00 when the load holds nothing beside the model. (`bert inspect` reads headers
# only: its peak does not grow with the file, so it is not measured.)
#
# Contenders run interleaved, ROUNDS times, each a fresh process under /usr/bin/time -v with tcmalloc preloaded as ./bert
# does. BERT is the CLI to measure (default: this checkout's, built here); OTHER="label=command" adds another, e.g. the CLI
# of an older commit built with `dotnet build src/BertSharp.Cli -c Release -o DIR`: OTHER="before=dotnet DIR/bert.dll".
#
# Usage: ROUNDS=3 bench/load-memory.sh
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
rounds=${ROUNDS:-3}
work=bench/.load-memory
tcmalloc=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4
mkdir -p "$work"
if [[ -z "${BERT:-}" ]]; then
  dotnet build src/BertSharp.Cli -c Release --nologo -v q -clp:ErrorsOnly >/dev/null
  BERT="dotnet src/BertSharp.Cli/bin/Release/net10.0/bert.dll"
fi
benchdll=bench/BertSharp.Bench/bin/Release/net10.0/BertSharp.Bench.dll
if [[ ! -f "$work/base/model.safetensors" || ! -f "$work/base.bin/pytorch_model.bin" || ! -f "$work/base-shards/model.safetensors.index.json" ]]; then
  dotnet build bench/BertSharp.Bench -c Release --nologo -v q -clp:ErrorsOnly >/dev/null
  [[ -f "$work/base/model.safetensors" ]] || LD_PRELOAD=$tcmalloc dotnet $benchdll --random-model "$work/base" base \
    samples/vocab/bert-base-uncased-vocab.txt
  LD_PRELOAD=$tcmalloc dotnet $benchdll --as-bin "$work/base" "$work/base.bin"
  LD_PRELOAD=$tcmalloc dotnet $benchdll --as-shards "$work/base" "$work/base-shards" 3
fi
echo "the cat sat on the mat ." > "$work/text.txt"
contenders=("this=$BERT")
[[ -n "${OTHER:-}" ]] && contenders+=("$OTHER")
models=(tiny=models/bertsharp-tiny base=$work/base base.bin=$work/base.bin base-shards=$work/base-shards)
commands=("fill-mask --text 'the cat sat on the [MASK] .'" "embed --input $work/text.txt --output $work/out.jsonl")

# One run: prints "peak_kb cpu_s" of the command (user + system of the whole process tree).
measure() {
  LD_PRELOAD=$tcmalloc /usr/bin/time -v -o "$work/time.txt" bash -c "$1" > "$work/run.log" 2>&1 \
    || { cat "$work/run.log"; exit 1; }
  awk -F': ' '/Maximum resident/ {kb=$2} /User time/ {u=$2} /System time/ {s=$2} END {printf "%d %.2f\n", kb, u + s}' "$work/time.txt"
}

declare -A peak cpu
for round in $(seq "$rounds"); do
  for c in "${commands[@]}"; do
    for who in "${contenders[@]}"; do
      for m in "${models[@]}"; do
        read -r kb s < <(measure "${who#*=} ${c%% *} --model ${m#*=} ${c#* }")
        key="${who%%=*}|${c%% *}|${m%%=*}"
        peak[$key]="${peak[$key]:-} $kb"; cpu[$key]="${cpu[$key]:-} $s"
      done
    done
  done
done

size=$(stat -c %s "$work/base/model.safetensors")
echo "bert-base BertForPreTraining, model.safetensors $size bytes (pytorch_model.bin $(stat -c %s "$work/base.bin/pytorch_model.bin")); $rounds rounds, interleaved; $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| CLI | command | model | peak RSS (MB) | (peak − tiny) / model.safetensors size | CPU-s |"
echo "|---|---|---|---|---|---|"
for who in "${contenders[@]}"; do
  for c in "${commands[@]}"; do
    for m in "${models[@]}"; do
      t="${who%%=*}|${c%% *}|tiny"; b="${who%%=*}|${c%% *}|${m%%=*}"
      awk -v tp="${peak[$t]}" -v bp="${peak[$b]}" -v bc="${cpu[$b]}" -v size="$size" -v who="${who%%=*}" -v cmd="${c%% *}" -v model="${m%%=*}" '
        function list(s, scale,   a, n, i, out) { n = split(s, a, " "); for (i = 1; i <= n; i++) out = out (i > 1 ? ", " : "") sprintf(scale ? "%.0f" : "%.2f", scale ? a[i] / 1024 : a[i]); return out }
        BEGIN {
          nt = split(tp, x, " "); split(bp, y, " "); r = ""
          for (i = 1; i <= nt; i++) r = r (i > 1 ? ", " : "") sprintf("%.2f", (y[i] - x[i]) * 1024 / size)
          printf "| %s | %s | %s | %s | %s | %s |\n", who, cmd, model, list(bp, 1), model == "tiny" ? "" : "**" r "**", list(bc, 0)
        }'
    done
  done
done
