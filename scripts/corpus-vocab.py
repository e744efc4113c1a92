#!/usr/bin/env python3
"""A vocab.txt made from a JSON-lines corpus (title, text): BERT's special tokens at their usual ids
([PAD] 0, [UNK] 100, [CLS] 101, [SEP] 102, [MASK] 103), then every lowercased word and punctuation
mark of the corpus, most frequent first, then each character alone and as a ##piece, so that any
word of the corpus is one token and any other splits into characters.
Used by ReaderCopyExperiment -Dvocab (docs/experiments.md, "Two reader variants outside the loop").
Usage: scripts/corpus-vocab.py CORPUS.jsonl OUT.txt"""
import collections, json, re, sys

corpus, out = sys.argv[1], sys.argv[2]
counts = collections.Counter()
with open(corpus) as f:
    for line in f:
        doc = json.loads(line)
        for field in ('title', 'text'):
            counts.update(re.findall(r"[a-z0-9]+|[^\sa-z0-9]", doc.get(field, '').lower()))
vocab = ['[PAD]'] + [f'[unused{i}]' for i in range(99)] + ['[UNK]', '[CLS]', '[SEP]', '[MASK]']
seen = set(vocab)
for word, _ in sorted(counts.items(), key=lambda wc: (-wc[1], wc[0])):
    if word not in seen:
        vocab.append(word)
        seen.add(word)
for c in sorted({c for word in counts for c in word}):
    for piece in (c, '##' + c):
        if piece not in seen:
            vocab.append(piece)
            seen.add(piece)
with open(out, 'w') as f:
    f.write('\n'.join(vocab) + '\n')
print(f'{out}: {len(vocab)} tokens')
