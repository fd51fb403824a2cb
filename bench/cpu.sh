#!/usr/bin/env bash
# CPU speed of BertSharp against ONNX Runtime (same weights) and PyTorch, with a GEMM probe: each contender in its own worker
# process, interleaved workload by workload and round by round; prints a markdown table of median process CPU time and wall
# time per call, CPU and wall ratios, and the load average while each workload ran.
#
#   bench/cpu.sh [driver options]      e.g. --sizes base,mini --threads 1,2 --batches 1,8,32 --train base:8,mini:8,mini:32 --rounds 3
#   BEFORE=<commit> bench/cpu.sh ...   also runs BertSharp as of <commit> (built from `git archive` in bench/.cpu/before-<commit>)
#   TCMALLOC=1 bench/cpu.sh ...        also runs BertSharp with tcmalloc preloaded, as ./bert runs it
#   SPIN=1 bench/cpu.sh ...            also runs BertSharp with libgomp's default spin-waiting (GOMP_SPINCOUNT=300000)
#   RT=1 bench/cpu.sh ...              runs every worker at real-time priority (chrt -f 10, root): the machine as if idle
#   AMD=1 bench/cpu.sh ...             also runs BertSharp with MKL believing it is on an AMD CPU, without and with
#                                      BertSharp's vendor override (BERTSHARP_SIMULATE_CPU_VENDOR, see bench/README.md)
#
# Models (random weights, seed 42) are written once to bench/.cpu by BertSharp; bench/cpu/torch_peer.py exports them to ONNX
# and is the PyTorch peer (Debian's python3-torch; installed here when root, else PyTorch does not join and the ONNX export,
# which needs it, fails with a message).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null && [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  # OpenBLAS gives Debian's torch a real BLAS (its default is the reference one, ~30x slower).
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-torch libopenblas0-pthread >/dev/null 2>&1 \
    || echo "bench/cpu.sh: could not install python3-torch; PyTorch will not join" >&2
fi
dotnet build bench/BertSharp.Bench -c Release --nologo -v q -clp:ErrorsOnly
bench=bench/BertSharp.Bench/bin/Release/net10.0/BertSharp.Bench.dll
peers=()
if [[ -n "${BEFORE:-}" ]]; then
  old="bench/.cpu/before-$BEFORE"
  if [[ ! -f "$old/bench/BertSharp.Bench/bin/Release/net10.0/BertSharp.Bench.dll" ]]; then
    rm -rf "$old" && mkdir -p "$old"
    git archive "$BEFORE" | tar -x -C "$old"
    # Today's bench worker against that commit's library (the worker only uses public API that commit already had).
    rm -rf "$old/bench" && mkdir -p "$old/bench" && cp -r bench/BertSharp.Bench bench/cpu "$old/bench/"
    rm -rf "$old/bench/BertSharp.Bench/bin" "$old/bench/BertSharp.Bench/obj"
    cp Directory.Packages.props "$old/"
    dotnet build "$old/bench/BertSharp.Bench" -c Release --nologo -v q -clp:ErrorsOnly
  fi
  peers+=("--peer=before ($BEFORE)=dotnet $PWD/$old/bench/BertSharp.Bench/bin/Release/net10.0/BertSharp.Bench.dll --cpu-worker bertsharp")
fi
if [[ "${TCMALLOC:-0}" == 1 ]]; then
  bash scripts/install-tcmalloc.sh
  tc=""
  for lib in /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 /usr/lib/aarch64-linux-gnu/libtcmalloc_minimal.so.4 /usr/lib64/libtcmalloc_minimal.so.4 /usr/lib/libtcmalloc_minimal.so.4; do
    if [[ -f "$lib" ]]; then tc=$lib; break; fi
  done
  [[ -n "$tc" ]] || { echo "bench/cpu.sh: TCMALLOC=1 but tcmalloc is not installed" >&2; exit 2; }
  peers+=("--peer=BertSharp + tcmalloc=env LD_PRELOAD=$tc dotnet $PWD/$bench --cpu-worker bertsharp")
fi
if [[ "${SPIN:-0}" == 1 ]]; then
  peers+=("--peer=BertSharp, spinning OpenMP=env GOMP_SPINCOUNT=300000 dotnet $PWD/$bench --cpu-worker bertsharp")
fi
if [[ "${AMD:-0}" == 1 ]]; then
  peers+=("--peer=BertSharp, simulated AMD, MKL left alone=env BERTSHARP_SIMULATE_CPU_VENDOR=AuthenticAMD BERTSHARP_MKL_VENDOR_OVERRIDE=0 dotnet $PWD/$bench --cpu-worker bertsharp")
  peers+=("--peer=BertSharp, simulated AMD=env BERTSHARP_SIMULATE_CPU_VENDOR=AuthenticAMD dotnet $PWD/$bench --cpu-worker bertsharp")
fi
rt=()
if [[ "${RT:-0}" == 1 ]]; then rt=(chrt -f 10); fi
exec "${rt[@]}" dotnet "$bench" --cpu "$@" "${peers[@]}"
