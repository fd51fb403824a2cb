#!/usr/bin/env bash
# BertSharp quick start: builds the CLI, shows what the bundled pre-trained model (models/bertsharp-tiny: a tiny BERT that
# BertSharp pre-trained from scratch on IMDb reviews and Gutenberg novels) guesses for a masked word, fine-tunes it on 2,000
# bundled SST-2 sentences, evaluates it on the 872-sentence SST-2 dev set and classifies two new sentences.
# A few minutes on a laptop CPU. Everything goes to runs/quickstart (git-ignored).
# MODEL=DIR_OR_HUB_ID ./quickstart.sh starts from another checkpoint (e.g. bert-base-uncased; slower, more accurate).
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
model=${MODEL:-models/bertsharp-tiny}
out=runs/quickstart
scripts/install-tcmalloc.sh    # the allocator ./bert preloads (flat memory, faster steps)
./bert --version > /dev/null   # builds the CLI on first use, before anything is printed
echo "fill-mask: the movie was [MASK] ."
./bert fill-mask --model "$model" --text "the movie was [MASK] ." --top-k 5
./bert finetune --task sst2 --data samples/sst2/train.tsv --eval-data samples/sst2/dev.tsv --model "$model" \
  --epochs 3 --batch-size 32 --lr 5e-4 --warmup-ratio 0.1 --max-length 64 --seed 42 \
  --output "$out/model"
./bert evaluate --model "$out/model" --task sst2 --data samples/sst2/dev.tsv --output "$out/metrics.json"
for text in "a gorgeous, witty, seductive movie." "the plot is dull and the acting is even worse."; do
  echo "predict: $text"
  ./bert predict --model "$out/model" --text "$text"
done
