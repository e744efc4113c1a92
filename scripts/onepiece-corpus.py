#!/usr/bin/env python3
"""onepiece-corpus.py OUT BLOCKS LENGTH: a JSON-lines corpus of BLOCKS blocks whose title and body
words are each one wordpiece of the built-in MiniLM vocabulary (lowercase alphabetic, 4-8
letters), so that [CLS] title [SEP] body [SEP] is exactly LENGTH wordpieces (the body ends with
"."); the same corpus for the same arguments (seed 1). For benchmarks that need exact shapes."""
import json, os, random, sys

out, blocks, length = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
tok = json.load(open(os.path.expanduser("~/.cache/realm-java/all-minilm-l6-v2-tokenizer.json")))
words = sorted(w for w in tok["model"]["vocab"] if w.isalpha() and w.islower() and 4 <= len(w) <= 8)
rng = random.Random(1)
with open(out, "w") as f:
    for i in range(blocks):
        # [CLS] title [SEP] + (LENGTH - 5) words + "." + [SEP]
        body = " ".join(rng.choice(words) for _ in range(length - 5)) + "."
        f.write(json.dumps({"id": str(i), "title": rng.choice(words), "text": body}) + "\n")
