#!/usr/bin/env bash
# Data-parallel pre-training on one machine: tokens/s of `bert pretrain` as 1 rank x 2 threads against 2 ranks x 1 thread
# (`bert launch --nproc 2`), interleaved in one run (the order alternates per round), same data, model and global batch.
# Prints one markdown row per run and a summary: training tokens/s (wall, from train_log.jsonl, after WARMUP steps),
# process CPU seconds and wall seconds of the whole command (/usr/bin/time; mpirun's ranks included), the 2-rank / 1-rank
# ratios, and the load average. Settings (environment): ROUNDS (2), STEPS (12), WARMUP (2), CONFIG (mini), BATCH (16 global),
# LEN (128), VOCAB (../shared's bert-base-uncased vocab), CORPUS (the in-repo IMDb sample).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
ROUNDS=${ROUNDS:-2}; STEPS=${STEPS:-12}; WARMUP=${WARMUP:-2}; CONFIG=${CONFIG:-mini}; BATCH=${BATCH:-16}; LEN=${LEN:-128}
VOCAB=${VOCAB:-../shared/data/vocab/bert-base-uncased-vocab.txt}
CORPUS=${CORPUS:-samples/corpus/imdb_unsup_sample.txt.gz}
command -v mpirun >/dev/null || { echo "bench/pretrain-ranks.sh: mpirun not found; run tests/mpi/setup.sh (Open MPI)" >&2; exit 2; }
[[ -f $VOCAB ]] || { echo "bench/pretrain-ranks.sh: $VOCAB not found; set VOCAB=path/to/vocab.txt" >&2; exit 2; }
work=bench/.pretrain-ranks
rm -rf "$work"; mkdir -p "$work"
./bert pretrain-data --input "$CORPUS" --vocab "$VOCAB" --output "$work/data" --max-length "$LEN" --dupe-factor 1 >/dev/null 2>&1
common=(pretrain --data "$work/data" --config "$CONFIG" --vocab "$VOCAB" --steps "$STEPS" --batch-size "$BATCH" --seed 1 --device cpu)

# Training tokens/s of a run: real tokens of the steps after WARMUP over their wall time (elapsed_seconds of the log).
tokens_per_s() {
  python3 - "$1" "$WARMUP" <<'PY'
import json, sys
steps = [json.loads(l) for l in open(sys.argv[1]) if '"type":"train"' in l]
w = int(sys.argv[2])
print(f"{sum(s['tokens'] for s in steps[w:]) / (steps[-1]['elapsed_seconds'] - steps[w - 1]['elapsed_seconds']):.0f}")
PY
}

run() { # name round
  local out="$work/$1-$2" t="$work/time-$1-$2"
  if [[ $1 == one ]]; then
    OMP_NUM_THREADS=2 /usr/bin/time -f "%e %U %S" -o "$t" ./bert "${common[@]}" --output "$out" >/dev/null 2>"$out.err"
  else
    OMP_NUM_THREADS=1 /usr/bin/time -f "%e %U %S" -o "$t" ./bert launch --nproc 2 -- "${common[@]}" --output "$out" >/dev/null 2>"$out.err"
  fi
  read -r wall user sys < "$t"
  local tps cpu load
  tps=$(tokens_per_s "$out/train_log.jsonl"); cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.1f", u + s }')
  load=$(cut -d' ' -f1 /proc/loadavg)
  echo "$1 $2 $tps $cpu $wall $load" >> "$work/results"
  local label; label=$([[ $1 == one ]] && echo "1 rank x 2 threads" || echo "2 ranks x 1 thread")
  echo "| $2 | $label | $tps | $cpu | $wall | $load |"
}

echo "config $CONFIG, global batch $BATCH x $LEN tokens max, $STEPS steps (tokens/s after $WARMUP), $(nproc) CPUs"
echo
echo "| round | run | training tokens/s (wall) | CPU s (whole command) | wall s (whole command) | load avg |"
echo "|---:|---|---:|---:|---:|---:|"
for r in $(seq 1 "$ROUNDS"); do
  if (( r % 2 )); then run one "$r"; run two "$r"; else run two "$r"; run one "$r"; fi
done
echo
awk '{ tps[$1] += $3; cpu[$1] += $4; wall[$1] += $5; n[$1]++ }
  END { printf "2 ranks / 1 rank: tokens/s %.2fx, CPU time %.2fx, wall time %.2fx (means over %d rounds)\n",
        (tps["two"] / n["two"]) / (tps["one"] / n["one"]), (cpu["two"] / n["two"]) / (cpu["one"] / n["one"]),
        (wall["two"] / n["two"]) / (wall["one"] / n["one"]), n["one"] }' "$work/results"
