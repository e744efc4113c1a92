#!/usr/bin/python3
"""Exports small random BERT encoders to ONNX the way Hugging Face models are exported (module
names as in transformers' BertModel, torch.onnx.export with constant folding and dynamic axes),
in several variants, for OnnxExportVariantsTest: the Java loader must map each graph it has never
seen, and ONNX Runtime running the file is the oracle.

Usage: make_bert_onnx_variants.py OUT_DIR
Writes OUT_DIR/<variant>.onnx and OUT_DIR/<variant>.json (the true configuration and the graph's
input names). Needs Debian's python3-torch (1.13); nothing is downloaded.
"""
import json
import math
import os
import struct
import sys

import torch
from torch import nn


class Embeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c["vocab"], c["hidden"])
        self.position_embeddings = nn.Embedding(c["positions"], c["hidden"])
        self.token_type_embeddings = nn.Embedding(c["types"], c["hidden"])
        self.LayerNorm = nn.LayerNorm(c["hidden"], eps=c["eps"])
        self.register_buffer("position_ids", torch.arange(c["positions"]).unsqueeze(0))

    def forward(self, input_ids, token_type_ids):
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        pos = self.position_ids[:, : input_ids.size(1)]
        e = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids) + self.position_embeddings(pos)
        return self.LayerNorm(e)


class SelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.heads, self.head_dim, self.scale = c["heads"], c["hidden"] // c["heads"], c["scale"]
        self.query = nn.Linear(c["hidden"], c["hidden"])
        self.key = nn.Linear(c["hidden"], c["hidden"])
        self.value = nn.Linear(c["hidden"], c["hidden"])

    def split(self, x):
        return x.view(x.size(0), x.size(1), self.heads, self.head_dim).permute(0, 2, 1, 3)

    def forward(self, h, mask_add):
        q, k, v = self.split(self.query(h)), self.split(self.key(h)), self.split(self.value(h))
        if self.scale == "div":  # transformers' eager attention
            s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim)
        elif self.scale == "mul":
            s = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(self.head_dim))
        else:  # "qk": both sides scaled by head_dim^-1/4, as SDPA exports do
            f = 1.0 / math.sqrt(math.sqrt(self.head_dim))
            s = torch.matmul(q * f, k.transpose(-1, -2) * f)
        p = torch.softmax(s + mask_add, dim=-1)
        ctx = torch.matmul(p, v).permute(0, 2, 1, 3).contiguous()
        return ctx.view(ctx.size(0), ctx.size(1), -1)


class DenseNorm(nn.Module):
    def __init__(self, n_in, n_out, eps):
        super().__init__()
        self.dense = nn.Linear(n_in, n_out)
        self.LayerNorm = nn.LayerNorm(n_out, eps=eps)

    def forward(self, x, residual):
        return self.LayerNorm(self.dense(x) + residual)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self = SelfAttention(c)
        self.output = DenseNorm(c["hidden"], c["hidden"], c["eps"])

    def forward(self, h, mask_add):
        return self.output(self.self(h, mask_add), h)


class Intermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden"], c["intermediate"])
        self.act = c["activation"]

    def forward(self, x):
        x = self.dense(x)
        if self.act == "gelu":
            return nn.functional.gelu(x)
        if self.act == "gelu_new":  # transformers' NewGELUActivation, written out
            return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))
        return torch.relu(x)


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = Attention(c)
        self.intermediate = Intermediate(c)
        self.output = DenseNorm(c["intermediate"], c["hidden"], c["eps"])

    def forward(self, h, mask_add):
        a = self.attention(h, mask_add)
        return self.output(self.intermediate(a), a)


class Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([Layer(c) for _ in range(c["layers"])])

    def forward(self, h, mask_add):
        for l in self.layer:
            h = l(h, mask_add)
        return h


class Pooler(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden"], c["hidden"])

    def forward(self, h):
        return torch.tanh(self.dense(h[:, 0]))


class BertModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embeddings = Embeddings(c)
        self.encoder = Encoder(c)
        self.pooler = Pooler(c) if c["pooler"] else None

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        m = attention_mask[:, None, None, :].to(torch.float32)
        fill = torch.finfo(torch.float32).min if self.c["mask_fill"] == "min" else -10000.0
        h = self.encoder(self.embeddings(input_ids, token_type_ids), (1.0 - m) * fill)
        return (h, self.pooler(h)) if self.pooler is not None else h


class Prefixed(nn.Module):
    """Puts the model under a module path, as task models ("bert.") and sentence-transformers
    wrappers ("0.auto_model.") do."""

    def __init__(self, path, model):
        super().__init__()
        self.path = path
        holder = self
        parts = path.split(".")
        for p in parts[:-1]:
            child = nn.Module()
            holder.add_module(p, child)
            holder = child
        holder.add_module(parts[-1], model)
        self.model = [model]  # not a submodule: a plain reference

    def forward(self, *args):
        return self.model[0](*args)


VARIANTS = {
    # a task model's encoder under "bert.", eager attention (Div), pooler output beside the states
    "bert_prefix_gelu": dict(vocab=300, hidden=64, heads=4, layers=2, intermediate=96, positions=40, types=2,
                             eps=1e-12, activation="gelu", scale="div", mask_fill="large", pooler=True,
                             prefix="bert", opset=14, type_input=True, hf_dir="F32"),
    # sentence-transformers' wrapper path; ReLU feed-forward although the pooler adds a Tanh
    "st_prefix_relu": dict(vocab=257, hidden=48, heads=3, layers=3, intermediate=80, positions=33, types=2,
                           eps=1e-5, activation="relu", scale="mul", mask_fill="min", pooler=True,
                           prefix="0.auto_model", opset=14, type_input=True, hf_dir="F16", gamma_beta=True),
    # no prefix, tanh GELU, LayerNormalization ops (opset 17), one token type and no token_type_ids input
    "plain_gelu_new_opset17": dict(vocab=500, hidden=96, heads=6, layers=2, intermediate=200, positions=64,
                                   types=1, eps=1e-6, activation="gelu_new", scale="div", mask_fill="large",
                                   pooler=False, prefix="", opset=17, type_input=False),
    # SDPA-style scaling of q and k by head_dim^-1/4, head_dim 64, one layer
    "sdpa_scaled_head64": dict(vocab=128, hidden=128, heads=2, layers=1, intermediate=256, positions=48, types=3,
                               eps=1e-12, activation="gelu", scale="qk", mask_fill="min", pooler=False,
                               prefix="", opset=14, type_input=True),
    # exported without constant folding: each Linear is MatMul(x, Transpose(weight)), weights keep their names
    "unfolded_transposes": dict(vocab=200, hidden=32, heads=2, layers=2, intermediate=64, positions=24, types=2,
                                eps=1e-12, activation="gelu", scale="div", mask_fill="large", pooler=True,
                                prefix="bert", opset=14, type_input=True, fold=False),
}


def write_safetensors(path, tensors, dtype):
    """The safetensors layout, written here (no safetensors package): header length, JSON, data."""
    header, blobs, offset = {}, [], 0
    for key, t in tensors.items():
        if t.dtype == torch.int64:
            kind, data = "I64", t.contiguous().numpy().tobytes()
        else:
            kind = dtype
            data = (t.half() if dtype == "F16" else t.float()).contiguous().numpy().tobytes()
        header[key] = {"dtype": kind, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def write_hf_dir(path, model, c):
    """config.json + model.safetensors as a Hugging Face checkpoint of the same weights."""
    os.makedirs(path, exist_ok=True)
    config = {"model_type": "bert", "vocab_size": c["vocab"], "hidden_size": c["hidden"], "num_hidden_layers": c["layers"],
              "num_attention_heads": c["heads"], "intermediate_size": c["intermediate"],
              "max_position_embeddings": c["positions"], "type_vocab_size": c["types"], "layer_norm_eps": c["eps"],
              "hidden_act": c["activation"], "position_embedding_type": "absolute"}
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    state = {}
    for key, t in model.state_dict().items():
        if c.get("gamma_beta") and "LayerNorm." in key:  # TF-era checkpoint names
            key = key.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")
        state[key] = t
    write_safetensors(os.path.join(path, "model.safetensors"), state, c["hf_dir"])


def export(name, c, out_dir):
    torch.manual_seed(sum(map(ord, name)))
    core = BertModel(c)
    with torch.no_grad():  # weights away from zero-mean-unit defaults so mistakes show
        for p in core.parameters():
            p.normal_(0.0, 0.08 if p.dim() > 1 else 0.05)
        for mod in core.modules():
            if isinstance(mod, nn.LayerNorm):
                mod.weight.uniform_(0.7, 1.3)
        if c.get("hf_dir") == "F16":  # values an F16 checkpoint holds exactly, so both files carry the same model
            for p in core.parameters():
                p.copy_(p.half().float())
    core.eval()
    model = Prefixed(c["prefix"], core) if c["prefix"] else core
    model.eval()
    b, l = 2, 7
    ids = torch.randint(0, c["vocab"], (b, l))
    mask = torch.ones(b, l, dtype=torch.int64)
    types = torch.zeros(b, l, dtype=torch.int64)
    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if c["type_input"] else [])
    args = (ids, mask, types) if c["type_input"] else (ids, mask)
    outputs = ["last_hidden_state"] + (["pooler_output"] if c["pooler"] else [])
    axes = {n: {0: "batch", 1: "sequence"} for n in names}
    axes["last_hidden_state"] = {0: "batch", 1: "sequence"}
    path = os.path.join(out_dir, name + ".onnx")
    torch.onnx.export(model, args, path, input_names=names, output_names=outputs, dynamic_axes=axes,
                      opset_version=c["opset"], do_constant_folding=c.get("fold", True))
    if c.get("hf_dir"):
        write_hf_dir(os.path.join(out_dir, name + ".hf"), model, c)
    truth = {k: c[k] for k in ("vocab", "hidden", "heads", "layers", "intermediate", "positions", "types", "eps", "activation")}
    truth["inputs"] = names
    with open(os.path.join(out_dir, name + ".json"), "w") as f:
        json.dump(truth, f, indent=1)


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    for name, c in VARIANTS.items():
        export(name, c, out_dir)
        print("exported", name)


if __name__ == "__main__":
    main()
