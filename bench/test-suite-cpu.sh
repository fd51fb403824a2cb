#!/usr/bin/env bash
# Where ./test.sh spends its CPU (the figures of bench/results/test-suite-times.md): runs ./test.sh [ARGS...] under Linux process
# accounting (Debian's acct; needs root) and prints its wall time, the CPU seconds of every process that ran, and their split:
# the test host itself, its children by kind (mpirun ranks, Chromium/node, the CLI under /usr/bin/time, other dotnet
# processes: the packaging fixtures' SDK runs and `bert` children) and the rest (the dotnet SDK's build check and test runner,
# the setup scripts), and the CPU time other VMs took from this one meanwhile (steal). Run it on an otherwise idle machine;
# the packaging cache makes the second run after a commit the warm one.
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
if [[ $(id -u) -ne 0 ]]; then echo "bench/test-suite-cpu.sh: process accounting needs root" >&2; exit 2; fi
command -v accton >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq acct >/dev/null
acct=$(mktemp /tmp/bertsharp-pacct.XXXXXX)
log=$(mktemp /tmp/bertsharp-test-log.XXXXXX)
trap 'accton off >/dev/null 2>&1 || true; rm -f "$acct" "$log"' EXIT
accton "$acct" >/dev/null
# Steal time: on a shared VM the hypervisor gives the vCPUs to other guests; the wall time of a run is only comparable with
# another's when both lost about as much (the CPU seconds below are not affected).
steal() { awk '/^cpu / { print $9 }' /proc/stat; }
steal0=$(steal)
start=$(date +%s.%N)
rc=0
"$root/test.sh" "$@" > "$log" 2>&1 || rc=$?
# One test host per results file: ./test.sh runs two side by side (the serial collection and the rest), one with arguments.
hosts=$(find "$root/TestResults" -name '*.trx' 2>/dev/null | wc -l)
end=$(date +%s.%N)
steal1=$(steal)
accton off >/dev/null
tail -1 "$log"
dump-acct "$acct" | python3 -c '
import collections, os, sys
wall, steal, cores = float(sys.argv[1]), float(sys.argv[2]) / os.sysconf("SC_CLK_TCK"), os.cpu_count()
rows = []
for line in sys.stdin:
    f = [x.strip() for x in line.split("|")]
    rows.append(dict(comm=f[0], cpu=(float(f[2]) + float(f[3])) / 100, pid=int(f[9]), ppid=int(f[10])))
by = {r["pid"]: r for r in rows}
kids = collections.defaultdict(list)
for r in rows:
    kids[r["ppid"]].append(r["pid"])
def tree(p):
    return by[p]["cpu"] + sum(tree(k) for k in kids[p] if k in by)
total = sum(r["cpu"] for r in rows)
# The test hosts: the processes with the most CPU time, each running the in-process tests of its share.
hosts = sorted(rows, key=lambda r: -r["cpu"])[:max(1, int(sys.argv[3]))]
groups = collections.Counter()
for host in hosts:
    for k in kids[host["pid"]]:
        c, name = tree(k), by[k]["comm"]
        groups["mpirun ranks" if name == "mpirun" else "Chromium/node" if name == "node" else "CLI under /usr/bin/time" if name == "time" else "other children"] += c
print(f"wall {wall:.1f} s, CPU {total:.1f} s (all processes that ended), stolen by other VMs {steal:.1f} vCPU-s ({steal / wall / cores:.0%} of the machine)")
hosttree = sum(tree(h["pid"]) for h in hosts)
each = " + ".join("%.1f" % h["cpu"] for h in hosts)
label = "test hosts themselves" if len(hosts) > 1 else "test host itself"
hostcpu = sum(h["cpu"] for h in hosts)
print(f"  {label:22} {hostcpu:6.1f} s ({each})")
for name, c in groups.most_common():
    print(f"  {name:22} {c:6.1f} s")
print(f"  outside the test hosts {total - hosttree:6.1f} s (dotnet SDK, setup scripts; Chromium processes that outlived node)")
' "$(awk -v a="$end" -v b="$start" 'BEGIN { print a - b }')" "$(( steal1 - steal0 ))" "$hosts"
exit $rc
