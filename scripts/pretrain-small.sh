#!/usr/bin/env bash
# Pre-trains a small BERT from scratch on the bundled corpus (../shared/data/corpus: 50k unlabelled IMDb reviews + 14
# Gutenberg novels): WordPiece vocabulary -> MLM/NSP data (google's recipe) -> BertForPreTraining -> fp16 model directory
# -> a fill-mask and an NSP check. With the defaults it reproduces models/bertsharp-tiny (see its README.md).
# Three stages, as the shipped model was made: stage 1 (batch 64, lr 5e-4, planned for 10,000 steps) sat on the MLM plateau
# (loss ~6.0), so it was stopped at step 4,000 and stage 2 continued from that checkpoint with batch 32, lr 1e-3 and fresh
# (dynamic) masks for 20,000 steps. Stages 1-2 only ever see positions 0-127, so the position embeddings beyond stay random;
# stage 3 does what google's recipe does in its last 10 %: it trains on sequences of up to 256 word pieces (8,000 steps,
# lr 5e-4), so fine-tuning on longer texts (IMDb at 256) starts from trained positions. Re-running continues an
# interrupted stage from its latest checkpoint. All knobs are environment variables:
#   OUT=runs/pretrain-small PRESET=tiny VOCAB_SIZE=8192 DUPE=2 MAX_SEQ=128
#   STAGE1_STEPS=10000 STAGE1_STOP=4000 STAGE1_BATCH=64 STAGE1_LR=5e-4  STAGE2_STEPS=20000 STAGE2_BATCH=32 STAGE2_LR=1e-3
#   STAGE3_STEPS=8000 (0 skips stage 3) STAGE3_MAX_SEQ=256 STAGE3_MAX_PREDICTIONS=40 STAGE3_BATCH=32 STAGE3_LR=5e-4  WARMUP=500 (every stage)
#   DEVICE=auto SHIP=$OUT/model (where the fp16 model directory is written)
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
shared=${BERTSHARP_SHARED:-$root/../shared}
corpus=$shared/data/corpus
out=${OUT:-$root/runs/pretrain-small}
preset=${PRESET:-tiny}
vocab_size=${VOCAB_SIZE:-8192}
dupe=${DUPE:-2}
max_seq=${MAX_SEQ:-128}
s1_steps=${STAGE1_STEPS:-10000}
s1_stop=${STAGE1_STOP:-4000}
s1_batch=${STAGE1_BATCH:-64}
s1_lr=${STAGE1_LR:-5e-4}
s2_steps=${STAGE2_STEPS:-20000}
s2_batch=${STAGE2_BATCH:-32}
s2_lr=${STAGE2_LR:-1e-3}
s3_steps=${STAGE3_STEPS:-8000}
s3_seq=${STAGE3_MAX_SEQ:-256}
s3_preds=${STAGE3_MAX_PREDICTIONS:-40}
s3_batch=${STAGE3_BATCH:-32}
s3_lr=${STAGE3_LR:-5e-4}
warmup=${WARMUP:-500}
device=${DEVICE:-auto}
ship=${SHIP:-$out/model}
bert="$root/bert"

if [[ ! -f "$corpus/imdb_unsup_reviews.txt.gz" || ! -d "$corpus/gutenberg" ]]; then
  echo "pretrain-small.sh: corpus not found under $corpus (set BERTSHARP_SHARED)" >&2
  exit 2
fi
mkdir -p "$out"

if [[ ! -f "$out/vocab.txt" ]]; then
  "$bert" vocab train --input "$corpus/imdb_unsup_reviews.txt.gz" "$corpus"/gutenberg/*.txt \
    --vocab-size "$vocab_size" --output "$out/vocab.txt"
fi

# make_data DIR MAX_SEQ [extra pretrain-data flags]: google's MLM/NSP instances at one sequence length (skipped when present).
make_data() {
  local dir=$1 seq=$2; shift 2
  [[ -f "$dir/manifest.json" ]] && return
  "$bert" pretrain-data --input "$corpus/imdb_unsup_reviews.txt.gz" "$corpus/gutenberg" --vocab "$out/vocab.txt" \
    --output "$dir" --max-length "$seq" --dupe-factor "$dupe" --seed 12345 "$@"
  "$bert" pretrain-data --stats "$dir"
}
make_data "$out/data" "$max_seq"

resume_flag() { compgen -G "$1/checkpoint-*" > /dev/null && echo --resume || true; }

if [[ ! -f "$out/run1/checkpoint-$s1_stop/trainer_state.json" ]]; then
  done_steps=$( (compgen -G "$out/run1/checkpoint-*" || true) | sed 's/.*checkpoint-//' | sort -n | tail -1)
  # shellcheck disable=SC2046
  time "$bert" pretrain --data "$out/data" --output "$out/run1" --config "$preset" --vocab "$out/vocab.txt" \
    --steps "$s1_steps" --stop-after $((s1_stop - ${done_steps:-0})) --batch-size "$s1_batch" --lr "$s1_lr" --warmup-steps "$warmup" \
    --save-every 1000 --eval-every 1000 --seed 42 --device "$device" $(resume_flag "$out/run1")
fi

# continue_stage RUN FROM DATA STEPS BATCH LR SAVE_EVERY SEED: a stage that starts from the previous stage's model, with fresh
# (dynamic) masks; resumes from RUN's latest checkpoint when there is one, and is skipped when RUN/final exists.
continue_stage() {
  local run=$1 from=$2 data=$3 steps=$4 batch=$5 lr=$6 save=$7 seed=$8
  [[ -f "$run/final/model.safetensors" ]] && return
  local start=(--model "$from")
  [[ -n "$(resume_flag "$run")" ]] && start=(--resume)
  time "$bert" pretrain --data "$data" --output "$run" "${start[@]}" \
    --steps "$steps" --batch-size "$batch" --lr "$lr" --warmup-steps "$warmup" --dynamic-masking \
    --save-every "$save" --eval-every 1000 --seed "$seed" --device "$device"
}

continue_stage "$out/run2" "$out/run1/checkpoint-$s1_stop" "$out/data" "$s2_steps" "$s2_batch" "$s2_lr" 2000 43
final=$out/run2/final
if (( s3_steps > 0 )); then
  make_data "$out/data$s3_seq" "$s3_seq" --max-predictions-per-seq "$s3_preds"
  continue_stage "$out/run3" "$out/run2/final" "$out/data$s3_seq" "$s3_steps" "$s3_batch" "$s3_lr" 1000 44
  final=$out/run3/final
fi

# Half precision halves the download; loading converts back to fp32.
"$bert" convert "$final" "$ship" --dtype float16 --architecture BertForPreTraining
"$bert" fill-mask --model "$ship" --text "the movie was [MASK] ." --top-k 5
"$bert" nsp --model "$ship" --text "the acting was superb ." --text-pair "i would watch it again ."
