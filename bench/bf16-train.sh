#!/usr/bin/env bash
# float32 against bf16 mixed-precision training steps of the same model and batch, interleaved in one process
# (BertSharp.Bench --bf16-train); prints a markdown row with the median CPU and wall time per step and their ratios, and the
# machine's load before and after (the CPU is shared: compare CPU times).
#
#   bench/bf16-train.sh [--hidden 384 --layers 6 --heads 12 --intermediate 1536 --batch 8 --seq 128 --rounds 6 --threads 2]
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build bench/BertSharp.Bench -c Release --nologo -v q -clp:ErrorsOnly
grep -o -m1 'avx512_bf16' /proc/cpuinfo >/dev/null && echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), avx512_bf16 present" \
  || echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), no avx512_bf16 (bf16 matmuls are emulated)"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs, $(date -u '+%Y-%m-%d %H:%M UTC')"
LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 dotnet bench/BertSharp.Bench/bin/Release/net10.0/BertSharp.Bench.dll --bf16-train "$@"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
