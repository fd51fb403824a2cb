#!/usr/bin/env bash
# Runs every BertSharp test (unit, golden-file, fixture-parity and CLI tests) and ends with "N passed, N failed[, N skipped]".
# Tests over the large public data sets read ../shared beside the checkout and are counted as skipped without it.
set -uo pipefail
cd "$(dirname "$(readlink -f "$0")")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
results="$PWD/TestResults"
# tcmalloc: the allocator ./bert preloads (without it ./bert warns and falls back to glibc malloc).
bash scripts/install-tcmalloc.sh
# The browser tests need Debian's chromium and playwright-core; install them when possible, else those tests are skipped.
bash tests/browser/setup.sh || echo "test.sh: browser test setup failed; the browser tests will be skipped" >&2
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
# No call counting: methods keep their ReadyToRun or first JIT code instead of being compiled again, optimised, once they
# have run 30 times. The test processes and their ~80 children (CLI runs, MPI ranks running several commands, servers,
# the SDK's compilers) are short and mostly wait on libtorch: in a profile the second compilations took 9 % of the run's
# CPU, and the serial process alone was a sixth cheaper without them; for the whole suite the difference stays within the
# machine's noise (tests/README.md, "Run time").
export DOTNET_TC_CallCounting=${DOTNET_TC_CallCounting:-0}
fail_run() { # a run that produced no usable results: say why, then the counts line CI reads
  echo "test.sh: $1" >&2
  echo "0 passed, 1 failed"
  exit 1
}
rc=0 rc_parallel=0 rc_serial=0
if (( $# > 0 )); then
  # Arguments (a --filter, xunit settings ...) go to one plain `dotnet test` of the solution.
  dotnet test BertSharp.slnx -c Release --logger "trx;LogFileName=results.trx" --results-directory "$results" "$@" || rc=$?
else
  # Two test processes side by side: the serial collection (trait Isolation=Serial: tests of process-wide state such as
  # torch's generator, see tests/README.md) in one, every other class in parallel in the other. In one process the serial
  # collection has to run after the rest, alone, and leaves a core idle for a minute; beside it, it fills that core.
  dotnet build BertSharp.slnx -c Release || fail_run "the build failed"
  dll=tests/BertSharp.Tests/bin/Release/net10.0/BertSharp.Tests.dll
  serial_log="$results/serial.log"
  mkdir -p "$results"
  # --blame: if a test host crashes (a native fault in libtorch, say), vstest names the test that was running.
  BERTSHARP_TEST_SHARED_CPU=1 dotnet test "$dll" --filter "Isolation=Serial" --blame \
    --logger "trx;LogFileName=serial.trx" --results-directory "$results/serial" > "$serial_log" 2>&1 &
  serial=$!
  dotnet test "$dll" --filter "Isolation!=Serial" --blame --logger "trx;LogFileName=parallel.trx" --results-directory "$results/parallel" || rc_parallel=$?
  wait "$serial" || rc_serial=$?
  echo "--- the serial collection's test process (Isolation=Serial):"
  cat "$serial_log"
fi
trxs=$(find "$results" -name '*.trx' 2>/dev/null)
if [[ -z "$trxs" ]] || (( $# == 0 && $(wc -l <<<"$trxs") != 2 )); then
  fail_run "not every test process wrote its results (build failure or crash?)"
fi
# Each result file with the exit code of the process that wrote it (one `dotnet test` when arguments were given).
args=()
while read -r trx; do
  case $(basename "$trx" .trx) in serial) code=$rc_serial ;; parallel) code=$rc_parallel ;; *) code=$rc ;; esac
  args+=("$trx=$code")
  (( code == 0 )) || rc=1
done <<<"$trxs"
counts=$(sh tests/trx-counts.sh "${args[@]}") || fail_run "the result files could not be read"
read -r passed failed skipped <<<"$counts"
total=$(( passed + failed + skipped ))
if (( total == 0 )); then echo "test.sh: no tests ran" >&2; rc=1; fi
if (( failed > 0 )); then rc=1; fi
if (( skipped > 0 )); then
  echo "--- skipped tests, by reason:"
  xargs -d '\n' sh tests/trx-skipped.sh <<<"$trxs"
fi
if (( skipped > 0 )); then echo "$passed passed, $failed failed, $skipped skipped"; else echo "$passed passed, $failed failed"; fi
exit $rc
