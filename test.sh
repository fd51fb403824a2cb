#!/usr/bin/env bash
# Runs every BertSharp test (unit, golden-file, fixture-parity and CLI tests) and ends with "N passed, N failed[, N skipped]".
# Tests over the large public data sets read ../shared beside the checkout and are counted as skipped without it.
set -uo pipefail
cd "$(dirname "$(readlink -f "$0")")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
results="$PWD/TestResults"
# tcmalloc: the allocator ./bert preloads (without it ./bert warns and falls back to glibc malloc).
bash scripts/install-tcmalloc.sh
# The browser test needs Debian's chromium and playwright-core; install them when possible, else that one test is skipped.
bash tests/browser/setup.sh || echo "test.sh: browser test setup failed; the browser test will be skipped" >&2
# The multi-process (MPI) tests need Open MPI from Debian; install it when possible, else those tests are skipped.
bash tests/mpi/setup.sh || echo "test.sh: Open MPI setup failed; the MPI tests will be skipped" >&2
rm -rf "$results"
# The suite is CPU-bound (about 80 short-lived dotnet processes and thousands of small tensors): tcmalloc, the allocator
# ./bert runs with, spares the test host and its child processes glibc's page faults on every large tensor, and without
# tiered PGO the short-lived processes do not spend CPU instrumenting and re-compiling code they will not run again.
# Together about a fifth less CPU in the test host.
tcmalloc=$(ls /usr/lib/*-linux-gnu/libtcmalloc_minimal.so.4 /usr/lib64/libtcmalloc_minimal.so.4 2>/dev/null | head -1 || true)
if [[ -n "$tcmalloc" && "${LD_PRELOAD:-}" != *tcmalloc* ]]; then export LD_PRELOAD="$tcmalloc${LD_PRELOAD:+:$LD_PRELOAD}"; fi
export DOTNET_TieredPGO=${DOTNET_TieredPGO:-0}
dotnet test BertSharp.slnx -c Release --logger "trx;LogFileName=results.trx" --results-directory "$results" "$@"
rc=$?
trx=$(find "$results" -name '*.trx' 2>/dev/null | head -1)
if [[ -z "$trx" ]]; then
  echo "test.sh: no test results were written (build failure?)" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
get() { sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters"; }
total=$(get total); passed=$(get passed); failed=$(get failed)
skipped=$(( total - passed - failed ))
if (( total == 0 )); then echo "test.sh: no tests ran" >&2; rc=1; fi
if (( failed > 0 )); then rc=1; fi
if (( skipped > 0 )); then echo "$passed passed, $failed failed, $skipped skipped"; else echo "$passed passed, $failed failed"; fi
exit $rc
