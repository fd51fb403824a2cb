#!/usr/bin/env python3
"""Writes samples/sst2/train-sentences.tsv: 2,000 whole sentences drawn from GLUE SST-2's training set.

GLUE's SST-2 train.tsv holds 67,349 rows, most of them phrases cut out of the Stanford Sentiment Treebank's parse trees
("the greatest musicians", "cold"); the dev set holds whole sentences only. A phrase that is no part of a longer row is
a whole sentence: that gives 6,885 rows (SST's binary training split has 6,920 sentences), 19.4 words on average like the dev
set's 19.5. The quick start fine-tunes on 2,000 of them drawn at random with seed 42, so it learns from the kind of text it is
evaluated on. Usage: scripts/sst2-sentences.py [SHARED_DATA_DIR] (default ../shared/data beside the checkout).
"""
import os
import random
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
data = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "..", "shared", "data")
with open(os.path.join(data, "glue_sst2", "train.tsv"), encoding="utf-8") as f:
    rows = [line.rstrip("\n").split("\t") for line in f][1:]

labels = {}
for sentence, label in rows:
    labels.setdefault(sentence.strip(), int(label))

# Longest first, so every row that is part of a longer one is met after it; space-padded so only whole words match.
whole, haystacks = [], []
for sentence, label in sorted(labels.items(), key=lambda kv: (-len(kv[0]), kv[0])):
    key = f" {sentence} "
    if any(key in h for h in haystacks):
        continue
    whole.append((sentence, label))
    if not haystacks or len(haystacks[-1]) > 200_000:
        haystacks.append("\n")
    haystacks[-1] += key + "\n"

random.seed(42)
sample = random.sample(whole, 2000)
out = os.path.join(root, "samples", "sst2", "train-sentences.tsv")
tmp = out + ".tmp"
with open(tmp, "w", encoding="utf-8", newline="\n") as f:
    f.write("sentence\tlabel\n")
    for sentence, label in sample:
        f.write(f"{sentence} \t{label}\n")
os.replace(tmp, out)
positive = sum(label for _, label in sample)
print(f"{out}: {len(sample)} of {len(whole)} whole sentences ({len(sample) - positive} negative, {positive} positive)")
