#!/usr/bin/env bash
# Pre-trains a small BERT from scratch on the bundled corpus (../shared/data/corpus: 50k unlabelled IMDb reviews + 14
# Gutenberg novels): WordPiece vocabulary -> MLM/NSP data (google's recipe) -> BertForPreTraining -> a fill-mask check.
# Re-running continues an interrupted run from its latest checkpoint. All knobs are environment variables:
#   OUT=runs/pretrain-small PRESET=mini VOCAB_SIZE=12000 DUPE=5 MAX_SEQ=128 STEPS=20000 BATCH=64 LR=1e-4 DEVICE=auto
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
shared=${BERTSHARP_SHARED:-$root/../shared}
corpus=$shared/data/corpus
out=${OUT:-$root/runs/pretrain-small}
preset=${PRESET:-mini}
vocab_size=${VOCAB_SIZE:-12000}
dupe=${DUPE:-5}
max_seq=${MAX_SEQ:-128}
steps=${STEPS:-20000}
batch=${BATCH:-64}
lr=${LR:-1e-4}
device=${DEVICE:-auto}
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

if [[ ! -f "$out/data/manifest.json" ]]; then
  "$bert" pretrain-data --input "$corpus/imdb_unsup_reviews.txt.gz" "$corpus/gutenberg" --vocab "$out/vocab.txt" \
    --output "$out/data" --max-seq-length "$max_seq" --dupe-factor "$dupe" --seed 12345
  "$bert" pretrain-data --stats "$out/data"
fi

resume=()
if compgen -G "$out/run/checkpoint-*" > /dev/null; then
  resume=(--resume)
fi
time "$bert" pretrain --data "$out/data" --output "$out/run" --config "$preset" --vocab "$out/vocab.txt" \
  --steps "$steps" --batch-size "$batch" --lr "$lr" --warmup-steps $((steps / 100)) \
  --save-every 1000 --eval-every 1000 --device "$device" "${resume[@]}"

"$bert" fill-mask --model "$out/run/final" --text "the movie was [MASK] ." --top-k 5
"$bert" nsp --model "$out/run/final" --text "The acting was superb." --text-pair "I would watch it again."
