#!/usr/bin/env bash
# Fine-tunes the same preset twice per task and learning rate: once from a pre-trained model (MODEL) and once from random
# initialisation with the same vocabulary, then prints a table of the evaluation accuracies. Everything else (data, epochs,
# batch size, warm-up, max length, seed) is identical between the two arms.
#   MODEL=models/bertsharp-tiny  PRESET=tiny  LRS="1e-4 5e-4 1e-3"  TASKS="sst2 imdb"  ARMS="pretrained scratch"
#   OUT=runs/compare  THREADS=2  EPOCHS="1"  BERT=./bert (the command that runs the CLI)
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
shared=${BERTSHARP_SHARED:-$root/../shared}
model=${MODEL:-$root/models/bertsharp-tiny}
preset=${PRESET:-tiny}
lrs=${LRS:-1e-4 5e-4 1e-3}
tasks=${TASKS:-sst2 imdb}
arms=${ARMS:-pretrained scratch}
out=${OUT:-$root/runs/compare}
threads=${THREADS:-2}
epochs_list=${EPOCHS:-1}
# BERT is a command line (words split at spaces); the default is one path, which may hold spaces.
if [[ -n ${BERT:-} ]]; then read -r -a bert <<< "$BERT"; else bert=("$root/bert"); fi

if [[ ! -f "$model/vocab.txt" ]]; then
  echo "compare-pretrained.sh: $model/vocab.txt not found (set MODEL to a pre-trained model directory)" >&2
  exit 2
fi
mkdir -p "$out"

for task in $tasks; do
  case $task in
    sst2) data=(--data "$shared/data/glue_sst2/train.tsv" --eval-data "$shared/data/glue_sst2/dev.tsv" --max-length 128) ;;
    imdb) data=(--data "$shared/data/imdb/train.csv.gz" --eval-data "$shared/data/imdb/test.csv.gz" --max-length 256 --shuffle) ;;
    *) echo "compare-pretrained.sh: unknown task '$task' (expected sst2 or imdb)" >&2; exit 2 ;;
  esac
  for epochs in $epochs_list; do
    for lr in $lrs; do
      for arm in $arms; do
        dir="$out/$task-$arm-lr$lr-ep$epochs"
        [[ -f "$dir/metrics.json" ]] && continue
        if [[ $arm == pretrained ]]; then src=(--model "$model"); else src=(--config "$preset" --vocab "$model/vocab.txt"); fi
        echo "== $task $arm lr $lr epochs $epochs" >&2
        start=$(date +%s)
        "${bert[@]}" finetune --task "$task" "${data[@]}" "${src[@]}" --epochs "$epochs" --batch-size 32 --lr "$lr" \
          --warmup-ratio 0.1 --seed 42 --threads "$threads" --device cpu --output "$dir" > "$dir.log" 2>&1
        echo "$(( $(date +%s) - start ))" > "$dir/wall_seconds"
      done
    done
  done
done

printf '| task | epochs | learning rate | from scratch | pre-trained | difference |\n|---|---:|---:|---:|---:|---:|\n'
# A run that is not there (one arm in ARMS, or a failed run) is '-': under pipefail grep's exit 2 ended the script mid-table.
acc() { grep -o '"accuracy": [0-9.]*' "$1" 2>/dev/null | head -1 | awk '{printf "%.4f", $2}' || true; }
for task in $tasks; do
  for epochs in $epochs_list; do
    for lr in $lrs; do
      s=$(acc "$out/$task-scratch-lr$lr-ep$epochs/metrics.json"); p=$(acc "$out/$task-pretrained-lr$lr-ep$epochs/metrics.json")
      d=$(awk -v a="$s" -v b="$p" 'BEGIN { if (a == "" || b == "") print "-"; else printf "%+.2f pt", 100 * (b - a) }')
      printf '| %s | %s | %s | %s | %s | %s |\n' "$task" "$epochs" "$lr" "${s:--}" "${p:--}" "$d"
    done
  done
done
