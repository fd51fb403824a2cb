#!/bin/sh
# Why tests were skipped, from VSTest result files: one line per reason, "  N  REASON", most frequent first, and nothing when
# no test was skipped. ./test.sh prints it above its counts line, since dotnet test's console names skipped tests without
# saying why (without ../shared, for one: which data set a test needed).
# Usage: tests/trx-skipped.sh RESULTS.trx...
set -eu
export LC_ALL=C  # one sort order whatever the locale
for f in "$@"; do
  [ -r "$f" ] || { echo "tests/trx-skipped.sh: $f: no such result file" >&2; exit 1; }
done
awk '
  /<UnitTestResult / { skipped = ($0 ~ /outcome="NotExecuted"/); if (skipped) n++; next }
  skipped && /<Message>/ {
    m = $0; sub(/.*<Message>/, "", m); sub(/<\/Message>.*/, "", m)
    gsub(/&lt;/, "<", m); gsub(/&gt;/, ">", m); gsub(/&quot;/, "\"", m); gsub(/&apos;/, "\047", m); gsub(/&amp;/, "\\&", m)
    print m; skipped = 0; n--
  }
  END { for (; n > 0; n--) print "(no reason given)" }
' "$@" | sort | uniq -c | sort -k1,1nr -k2 | sed 's/^ *\([0-9]*\) /  \1  /'
