#!/usr/bin/env bash
# TorchSharp 0.107's garbage-collection race, shown (tests/README.md, "A test host that crashes"): runs the probe of
# bench/BertSharp.Bench (GcRaceProbe) ROUNDS times in each mode, each in its own process for DURATION seconds, and prints how each run
# ended: survived, wrong value / libtorch error, or killed by a signal (a native crash). unscoped: temporaries outside any
# dispose scope; scoped: inside one (tensors held, implicit Scalars not); stable: as the library runs, in a dispose scope with
# Scalars from StableScalars (build/BannedSymbols.txt makes the build refuse the other kinds). Expect crashes or errors in the
# first two modes and none in the third.
# Usage: ROUNDS=3 DURATION=20 bench/torchsharp-gc-race.sh   (DURATION: seconds per run)
set -uo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
rounds=${ROUNDS:-3}; seconds=${DURATION:-20}
dotnet build bench/BertSharp.Bench -c Release --nologo -v q -clp:ErrorsOnly >&2 || exit 1
tcmalloc=$(ls /usr/lib/*-linux-gnu/libtcmalloc_minimal.so.4 2>/dev/null | head -1 || true)
for mode in unscoped scoped stable; do
  for ((r = 1; r <= rounds; r++)); do
    out=$(LD_PRELOAD=${tcmalloc} dotnet bench/BertSharp.Bench/bin/Release/net10.0/BertSharp.Bench.dll --gc-race "$seconds" "$mode" 2>&1)
    rc=$?
    if (( rc > 128 )); then echo "$mode, run $r: killed by signal $((rc - 128)) (a native crash)"; else echo "$mode, run $r: ${out##*$'\n'} (exit $rc)"; fi
  done
done
