#!/usr/bin/env bash
# Scaling model of data-parallel BERT pre-training over N hosts (docs/distributed.md explains it). Prints a markdown table.
# Every input is an assumption and can be overridden:
#   PARAMS         parameters whose fp32 gradients are all-reduced each step (BERT-base pre-training model: 110,106,428,
#                  printed as "elements" by 'bert launch --nproc 2 -- bench allreduce --config base')
#   TOKENS         tokens per host per step (32 sequences x 128 word pieces)
#   HOST_TFLOPS    sustained training throughput of one host in TFLOP/s, one line per kind of host
#   LATENCY_US     per-message latency of one ring step, microseconds; BUCKETS all-reduces per step (25 MiB buckets)
# Compute per step = 6 * PARAMS * TOKENS / throughput (forward + backward ~ 6 FLOP per parameter per token).
# All-reduce per step (ring) = 2 (n-1)/n * bytes / bandwidth + 2 (n-1) * BUCKETS * latency; no overlap with backward
# (BertSharp reduces after backward), so step(n) = compute + all-reduce(n) and speed-up(n) = n * compute / step(n).
set -euo pipefail
PARAMS=${PARAMS:-110106428}
TOKENS=${TOKENS:-4096}
HOSTS=${HOSTS:-"cpu-server:1 gpu:100"}
LINKS_GBIT=${LINKS_GBIT:-"10 100"}
LATENCY_US=${LATENCY_US:-50}
BUCKETS=${BUCKETS:-16}
echo "| host (sustained TFLOP/s) | compute/step | link | all-reduce/step, n = 2 / 4 / 8 | speed-up on 2 / 4 / 8 hosts | efficiency at 8 |"
echo "|---|---:|---|---|---|---:|"
for host in $HOSTS; do
  name=${host%%:*}; tflops=${host##*:}
  for link in $LINKS_GBIT; do
    awk -v P="$PARAMS" -v T="$TOKENS" -v F="$tflops" -v L="$link" -v A="$LATENCY_US" -v B="$BUCKETS" -v name="$name" 'BEGIN {
      compute = 6 * P * T / (F * 1e12); bytes = 4 * P; bw = L * 1e9 / 8;
      ar = ""; sp = "";
      for (i = 1; i <= 3; i++) {
        n = 2 ^ i;
        t = 2 * (n - 1) / n * bytes / bw + 2 * (n - 1) * B * A * 1e-6;
        s = n * compute / (compute + t);
        ar = ar (i > 1 ? " / " : "") sprintf("%.3f s", t);
        sp = sp (i > 1 ? " / " : "") sprintf("%.2f", s);
        eff = s / n;
      }
      printf "| %s (%g) | %.3f s | %g Gb/s | %s | %s | %.0f %% |\n", name, F, compute, L, ar, sp, 100 * eff;
    }'
  done
done
