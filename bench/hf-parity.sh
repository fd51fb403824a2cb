#!/usr/bin/env bash
# Do the checkpoints BertSharp writes load in HuggingFace transformers, and give the same outputs there?
# Stage 1, here (needs only .NET): fine-tunes small classification, regression, NER, SQuAD and SWAG models from
# models/bertsharp-tiny with ./bert, and writes BertSharp's own inputs and head outputs for them (and for the pre-trained
# models/bertsharp-tiny) to bench/.hf-parity/bertsharp.json, plus the CLI's fill-mask, nsp and ner output (cli.txt).
# Stage 2, on a machine with torch + transformers (no .NET needed; the project's GPU machine has them):
#   python3 bench/hf_parity.py bench/.hf-parity
# loads each checkpoint with from_pretrained (and its tokenizer with AutoTokenizer), compares token ids and every head's
# logits on CPU and, when there is one, CUDA, and runs HF's fill-mask and token-classification pipelines on the same models.
# bench/results/hf-transformers5-parity.md holds a run. The staged folder is about 36 MB (under the GPU tool's 64 MiB).
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
cd "$root"
work=bench/.hf-parity
tiny=models/bertsharp-tiny
rm -rf "$work" && mkdir -p "$work"
bert() { ./bert "$@" --threads 1 --device cpu; }
common=(--model "$tiny" --epochs 1 --lr 1e-3 --seed 7)
bert finetune --task sst2 --data samples/sst2/train.tsv --max-train-examples 200 --batch-size 16 "${common[@]}" --output "$work/sst2" >&2
bert finetune --task tsv --regression --label-column score --data tests/fixtures/data/regression.tsv --batch-size 4 "${common[@]}" --output "$work/reg" >&2
bert finetune --task ner --data samples/ner/train.conll --max-train-examples 100 --batch-size 16 "${common[@]}" --output "$work/ner" >&2
bert finetune --task squad --data samples/squad/train.json --max-train-examples 60 --batch-size 12 "${common[@]}" --output "$work/squad" >&2
bert finetune --task swag --data samples/swag/train.csv --batch-size 16 "${common[@]}" --output "$work/swag" >&2
rm -f "$work"/*/loss.png
dotnet build bench/BertSharp.Bench/BertSharp.Bench.csproj -c Release --nologo -v q -clp:ErrorsOnly >&2
dotnet bench/BertSharp.Bench/bin/Release/net10.0/BertSharp.Bench.dll --hf-parity-dump "$work" "$tiny"
{
  echo '### fill-mask'; bert fill-mask --model "$tiny" --text "the movie was [MASK] ." --top-k 5
  echo '### nsp'; bert nsp --model "$tiny" --text "the movie was great ." --text-pair "i loved it ."
  for text in "John Smith lives in New York and works for Google ." "U.S. officials didn't say, they're \"sure\" it's ok!"; do
    for a in none simple first average max; do
      echo "### ner $a: $text"; bert ner --model "$work/ner" --text "$text" --aggregation "$a" --keep-o
    done
  done
} > "$work/cli.txt"
echo "staged in $work ($(du -sh "$work" | cut -f1)); next, where transformers is: python3 bench/hf_parity.py $work" >&2
