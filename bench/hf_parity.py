"""Stage 2 of bench/hf-parity.sh: HF transformers loads the checkpoints BertSharp wrote and computes the same outputs.
usage: python3 bench/hf_parity.py bench/.hf-parity   (run from the repository root; prints one JSON line per check)
"""
import json, os, sys, warnings
warnings.filterwarnings("ignore")
import torch, transformers
from transformers import AutoTokenizer, pipeline

work = sys.argv[1]
print(json.dumps({"torch": torch.__version__, "transformers": transformers.__version__,
                  "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}))
cases = json.load(open(os.path.join(work, "bertsharp.json")))
devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
worst = 0.0
for c in cases:
    tok = AutoTokenizer.from_pretrained(c["dir"])
    # One example at a time (HF cannot mix pairs and single texts in a batch), padded as BertSharp padded them.
    single = [tok(a, b) for a, b in c["texts"]]
    width = max(len(e["input_ids"]) for e in single)
    keys = ("input_ids", "token_type_ids", "attention_mask")
    hf = {k: [e[k] + [tok.pad_token_id if k == "input_ids" else 0] * (width - len(e[k])) for e in single] for k in keys}
    row = {"case": c["case"], "head": c["head"], "ids_equal": all(hf[k] == c[k] for k in keys)}
    for dev in devices:
        # float32 whatever the checkpoint's torch_dtype (transformers 5 loads an fp16 checkpoint as fp16 by default;
        # BertSharp computes in float32), eager attention as BertSharp's.
        model, info = getattr(transformers, c["head"]).from_pretrained(c["dir"], output_loading_info=True, attn_implementation="eager", dtype=torch.float32)
        row["loading_info"] = {k: sorted(v) for k, v in info.items() if v}
        model = model.to(dev).eval()
        inputs = {k: torch.tensor(c[k], device=dev) for k in keys}
        if c["head"] == "BertForMultipleChoice":
            inputs = {k: v[None] for k, v in inputs.items()}
        with torch.no_grad():
            out = model(**inputs)
        for key in ("logits", "prediction_logits", "seq_relationship_logits", "start_logits", "end_logits"):
            if key in c:
                ref = torch.tensor(c[key]["values"], dtype=torch.float64).reshape(c[key]["shape"])
                got = getattr(out, key).double().cpu()
                diff = (got - ref).abs().max().item() if got.shape == ref.shape else float("inf")
                row[f"{dev} max |diff| {key}"] = diff
                worst = max(worst, diff)
    print(json.dumps(row), flush=True)
tiny = next(c["dir"] for c in cases if c["case"] == "tiny")
ner_dir = next(c["dir"] for c in cases if c["case"] == "ner")
# The CLI's output for the same inputs (cli.txt, written by bench/hf-parity.sh), block by block.
blocks, name = {}, None
for line in open(os.path.join(work, "cli.txt"), encoding="utf-8").read().split("\n"):
    if line.startswith("### "):
        name = line[4:]; blocks[name] = []
    elif line.strip() and name:
        blocks[name].append(line)
fill = pipeline("fill-mask", model=tiny, device="cpu", dtype=torch.float32)
hf_fill = [(r["token_str"], round(r["score"], 4)) for r in fill("the movie was [MASK] .", top_k=5)]
cli_fill = [(l.split()[1], float(l.split()[0])) for l in blocks["fill-mask"]]
print(json.dumps({"pipeline": "fill-mask", "hf": hf_fill, "cli_equal": cli_fill == hf_fill}))
nsp = transformers.BertForNextSentencePrediction.from_pretrained(tiny, dtype=torch.float32).eval()
with torch.no_grad():
    p = nsp(**AutoTokenizer.from_pretrained(tiny)("the movie was great .", "i loved it .", return_tensors="pt")).logits.softmax(-1)[0].tolist()
cli_nsp = [float(l.split()[1]) for l in blocks["nsp"][:2]]
print(json.dumps({"pipeline": "nsp", "hf": [round(p[0], 4), round(p[1], 4)], "cli_equal": cli_nsp == [round(p[0], 4), round(p[1], 4)]}))
for text in ["John Smith lives in New York and works for Google .", "U.S. officials didn't say, they're \"sure\" it's ok!"]:
    for agg in ["none", "simple", "first", "average", "max"]:
        ner = pipeline("token-classification", model=ner_dir, aggregation_strategy=agg, ignore_labels=[], device="cpu")
        hf_out = [(r.get("entity_group", r.get("entity")), r["word"], int(r["start"]), int(r["end"]), float(r["score"])) for r in ner(text)]
        cli_out = [(e["entity"], e["word"], e["start"], e["end"], e["score"]) for e in map(json.loads, blocks[f"ner {agg}: {text}"])]
        same = len(hf_out) == len(cli_out) and all(a[:4] == b[:4] for a, b in zip(hf_out, cli_out))
        score = max((abs(a[4] - b[4]) for a, b in zip(hf_out, cli_out)), default=0.0)
        print(json.dumps({"pipeline": f"ner {agg}", "text": text, "entities": len(hf_out), "cli_equal": same,
                          "max |diff| score": score, "hf_words": [e[1] for e in hf_out] if agg != "none" else None}))
print(json.dumps({"worst max |diff| of any logit": worst}))
