#!/usr/bin/env python3
"""PyTorch peer of bench/cpu.sh, and the ONNX exporter for its ONNX Runtime peer.

  torch_peer.py export DIR MxKxN  DIR/{base,mini}/model.safetensors (written by the bench) -> DIR/{base,mini}/model.onnx,
                                  and DIR/gemm-MxKxN.onnx (x [M, K] -> x @ W^T, W [N, K] a constant: the GEMM probe)
  torch_peer.py worker DIR        line protocol on stdin/stdout, driven by the bench (CpuWorker.cs speaks the same):
                                  "fwd|train SIZE BATCH SEQ THREADS" or "gemm MxKxN 1 1 THREADS" -> "cpu_ms wall_ms checksum"

The model is HF BertModel / BertForPreTraining written out in ~60 lines of torch (the same arithmetic as
transformers' eager BERT), reading BertSharp's model.safetensors directly (the format is an 8-byte header length, a JSON
header and raw little-endian tensors), so neither transformers nor safetensors need to be installed.
"""
import json, math, os, resource, struct, sys, time

import numpy as np
import torch
import torch.nn.functional as F


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        blob = f.read()
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        assert meta["dtype"] == "F32", f"{path}: {name} is {meta['dtype']}, expected F32"
        a, b = meta["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(blob[a:b], dtype="<f4").copy()).reshape(meta["shape"])
    return out


class Bert(torch.nn.Module):
    """HF BertForPreTraining's arithmetic (post-LayerNorm encoder, exact GELU, tied MLM decoder)."""

    def __init__(self, cfg, w):
        super().__init__()
        self.cfg = cfg
        prefix = "bert." if any(k.startswith("bert.") for k in w) else ""
        self.p = torch.nn.ParameterDict({k.replace(".", "__"): torch.nn.Parameter(v) for k, v in w.items()})
        self.prefix = prefix

    def w(self, key):
        return self.p[(self.prefix + key).replace(".", "__")]

    def c(self, key):
        return self.p[key.replace(".", "__")]

    def lin(self, x, key):
        return F.linear(x, self.w(key + ".weight"), self.w(key + ".bias"))

    def ln(self, x, key):
        return F.layer_norm(x, (self.cfg["hidden_size"],), self.w(key + ".weight"), self.w(key + ".bias"), self.cfg["layer_norm_eps"])

    def encode(self, ids, mask, types):
        b, s = ids.shape
        h, nh = self.cfg["hidden_size"], self.cfg["num_attention_heads"]
        d = h // nh
        pos = torch.arange(s).unsqueeze(0)
        x = F.embedding(ids, self.w("embeddings.word_embeddings.weight")) + F.embedding(types, self.w("embeddings.token_type_embeddings.weight"))
        x = self.ln(x + F.embedding(pos, self.w("embeddings.position_embeddings.weight")), "embeddings.LayerNorm")
        x = F.dropout(x, 0.1, self.training)
        add = (1.0 - mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        for i in range(self.cfg["num_hidden_layers"]):
            L = f"encoder.layer.{i}."
            split = lambda t: t.view(b, s, nh, d).permute(0, 2, 1, 3)
            q, k, v = (split(self.lin(x, L + "attention.self." + n)) for n in ("query", "key", "value"))
            scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(d) + add
            probs = F.dropout(F.softmax(scores, -1), 0.1, self.training)
            ctx = torch.matmul(probs, v).permute(0, 2, 1, 3).reshape(b, s, h)
            x = self.ln(F.dropout(self.lin(ctx, L + "attention.output.dense"), 0.1, self.training) + x, L + "attention.output.LayerNorm")
            inter = F.gelu(self.lin(x, L + "intermediate.dense"))
            x = self.ln(F.dropout(self.lin(inter, L + "output.dense"), 0.1, self.training) + x, L + "output.LayerNorm")
        pooled = torch.tanh(self.lin(x[:, 0], "pooler.dense"))
        return x, pooled

    def forward(self, ids, mask, types):
        return self.encode(ids, mask, types)

    def pretrain_loss(self, ids, mask, types, labels, nsp_labels):
        x, pooled = self.encode(ids, mask, types)
        flat = labels.reshape(-1)
        idx = (flat != -100).nonzero().squeeze(-1)
        hsel = x.reshape(-1, x.shape[-1]).index_select(0, idx)
        t = F.linear(hsel, self.c("cls.predictions.transform.dense.weight"), self.c("cls.predictions.transform.dense.bias"))
        t = F.layer_norm(F.gelu(t), (self.cfg["hidden_size"],), self.c("cls.predictions.transform.LayerNorm.weight"),
                         self.c("cls.predictions.transform.LayerNorm.bias"), self.cfg["layer_norm_eps"])
        logits = F.linear(t, self.w("embeddings.word_embeddings.weight"), self.c("cls.predictions.bias"))
        nsp = F.linear(pooled, self.c("cls.seq_relationship.weight"), self.c("cls.seq_relationship.bias"))
        return F.cross_entropy(logits, flat.index_select(0, idx)) + F.cross_entropy(nsp, nsp_labels)


def load(dir_, size):
    d = os.path.join(dir_, size)
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    return Bert(cfg, read_safetensors(os.path.join(d, "model.safetensors")))


def inputs(cfg, batch, seq, seed=1234):
    """The bench's deterministic inputs (same rule as CpuBench.cs): ids, full mask, segment 0/1 halves, 15 % labels."""
    n = batch * seq
    ids = (np.arange(n, dtype=np.int64) * 7919 + seed) % (cfg["vocab_size"] - 1000) + 1000
    types = (np.arange(n) % seq >= seq // 2).astype(np.int64)
    labels = np.where(np.arange(n) % 7 == 3, ids, -100)
    nsp = np.arange(batch, dtype=np.int64) % 2
    t = lambda a: torch.from_numpy(a.reshape(batch, seq) if a.size == n else a)
    return t(ids), torch.ones(batch, seq, dtype=torch.int64), t(types), t(labels), torch.from_numpy(nsp)


def export(dir_, gemm):
    m, k, n = (int(v) for v in gemm.split("x"))
    lin = torch.nn.Linear(k, n, bias=False)
    out = os.path.join(dir_, f"gemm-{gemm}.onnx")
    torch.onnx.export(lin, (torch.randn(m, k),), out + ".tmp", input_names=["x"], output_names=["y"], opset_version=14)
    os.replace(out + ".tmp", out)
    for size in (s for s in ("base", "mini") if os.path.isdir(os.path.join(dir_, s))):
        m = load(dir_, size).eval()
        ids, mask, types, _, _ = inputs(m.cfg, 2, 16)
        out = os.path.join(dir_, size, "model.onnx")
        with torch.no_grad():
            torch.onnx.export(m, (ids, mask, types), out + ".tmp", input_names=["input_ids", "attention_mask", "token_type_ids"],
                              output_names=["last_hidden_state", "pooler_output"], opset_version=14,
                              dynamic_axes={n: {0: "batch", 1: "seq"} for n in ("input_ids", "attention_mask", "token_type_ids", "last_hidden_state")}
                              | {"pooler_output": {0: "batch"}})
        os.replace(out + ".tmp", out)
        print(f"exported {out}", file=sys.stderr)


def set_blas_threads(n):
    """torch.set_num_threads does not reach Debian's OpenBLAS (torch sees it as a generic BLAS); tell OpenBLAS directly."""
    try:
        import ctypes
        ctypes.CDLL("libopenblas.so.0").openblas_set_num_threads(n)
    except (OSError, AttributeError):
        pass


def worker(dir_):
    models, opts, gemm = {}, {}, {}
    cpu = lambda: (lambda r: r.ru_utime + r.ru_stime)(resource.getrusage(resource.RUSAGE_SELF))
    print("ready torch " + torch.__version__, flush=True)
    for line in sys.stdin:
        kind, size, batch, seq, threads = line.split()
        batch, seq, threads = int(batch), int(seq), int(threads)
        torch.set_num_threads(threads)
        set_blas_threads(threads)
        key = (kind, size, batch, seq, threads)
        if kind == "gemm":
            if size not in gemm:
                m_, k_, n_ = (int(v) for v in size.split("x"))
                gemm[size] = (torch.randn(m_, k_), torch.randn(n_, k_))
            a, w = gemm[size]
            if key not in opts:
                opts[key] = F.linear(a, w)
            c0, w0 = cpu(), time.perf_counter()
            check = float(F.linear(a, w)[0, :8].sum())
            print(f"{(cpu() - c0) * 1000:.3f} {(time.perf_counter() - w0) * 1000:.3f} {check:.6f}", flush=True)
            continue
        # Separate models for forward and training, so that training steps never change the forward checksums.
        if (kind, size) not in models:
            models[(kind, size)] = load(dir_, size)
            opts[(kind, size)] = torch.optim.AdamW(models[(kind, size)].parameters(), lr=1e-4, weight_decay=0.01)
        m = models[(kind, size)]
        ids, mask, types, labels, nsp = inputs(m.cfg, batch, seq)
        if key not in opts:
            opts[key] = True
            step(kind, m, opts[(kind, size)], ids, mask, types, labels, nsp)
        c0, w0 = cpu(), time.perf_counter()
        check = step(kind, m, opts[(kind, size)], ids, mask, types, labels, nsp)
        print(f"{(cpu() - c0) * 1000:.3f} {(time.perf_counter() - w0) * 1000:.3f} {check:.6f}", flush=True)


def step(kind, m, opt, ids, mask, types, labels, nsp):
    """One timed call: a no-grad forward, or a pre-training step (MLM at labelled positions + NSP, clip 1.0, AdamW)."""
    if kind == "fwd":
        m.eval()
        with torch.no_grad():
            x, _ = m(ids, mask, types)
        return float(x[:, 0, :8].sum())
    m.train()
    opt.zero_grad()
    loss = m.pretrain_loss(ids, mask, types, labels, nsp)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
    opt.step()
    return float(loss)


if __name__ == "__main__":
    {"export": export, "worker": worker}[sys.argv[1]](*sys.argv[2:])
