#!/bin/sh
# The counts of ./test.sh's last line, from VSTest result files and the exit codes of the test processes that wrote them:
# prints "PASSED FAILED SKIPPED" (skipped = results neither passed nor failed). A process that exited non-zero without a
# failed result lost the rest of its tests (its test host crashed or was killed): it counts as one failure, with a
# message on stderr, so that the last line never says "0 failed" for a run that failed.
# Usage: tests/trx-counts.sh RESULTS.trx=EXITCODE...
set -eu
passed=0 failed=0 skipped=0 aborted=0
for arg in "$@"; do
  f=${arg%=*} code=${arg##*=}
  [ -r "$f" ] || { echo "tests/trx-counts.sh: $f: no such result file" >&2; exit 1; }
  counters=$(grep -o '<Counters [^>]*>' "$f" | head -1)
  [ -n "$counters" ] || { echo "tests/trx-counts.sh: $f: no <Counters> element (a result file cut short?)" >&2; exit 1; }
  get() { printf '%s\n' "$counters" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"; }
  t=$(get total) p=$(get passed) x=$(get failed)
  passed=$((passed + p)) failed=$((failed + x)) skipped=$((skipped + t - p - x))
  if [ "$code" -ne 0 ] && [ "$x" -eq 0 ]; then
    echo "test.sh: the test process of $(basename "$f") exited with code $code after $t results and no failed test: its test host ended abnormally (see 'The active test run was aborted' above); counted as 1 failure" >&2
    aborted=$((aborted + 1))
  fi
done
echo "$passed $((failed + aborted)) $skipped"
