"""The BERT encoder the PyTorch peers share: word + position + token-type embeddings, LayerNorm,
dropout 0.1, then post-LN nn.TransformerEncoder layers with GELU, at all-MiniLM-L6-v2 sizes by
default (6 layers of 384, 12 heads, FFN 1536, vocabulary 30522)."""
import torch
import torch.nn as nn


class BertEncoder(nn.Module):
    def __init__(self, vocab=30522, hidden=384, layers=6, heads=12, ffn=1536, max_len=512):
        super().__init__()
        self.word = nn.Embedding(vocab, hidden)
        self.pos = nn.Embedding(max_len, hidden)
        self.token_type = nn.Embedding(2, hidden)
        self.ln = nn.LayerNorm(hidden, eps=1e-12)
        layer = nn.TransformerEncoderLayer(hidden, heads, ffn, dropout=0.1, activation="gelu", batch_first=True,
                                           norm_first=False, layer_norm_eps=1e-12)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.drop = nn.Dropout(0.1)

    def forward(self, ids, types=None):
        if types is None:
            types = torch.zeros_like(ids)
        pos = torch.arange(ids.shape[1]).unsqueeze(0)
        return self.encoder(self.drop(self.ln(self.word(ids) + self.pos(pos) + self.token_type(types))))


class MaskedLM(nn.Module):
    """A BertEncoder with BERT's MLM head (dense + GELU + LayerNorm, decoder tied to the word
    embeddings, bias); logits only for the flat positions `rows` of [batch * len]."""

    def __init__(self):
        super().__init__()
        self.bert = BertEncoder()
        self.transform = nn.Linear(384, 384)
        self.transform_ln = nn.LayerNorm(384, eps=1e-12)
        self.decoder_bias = nn.Parameter(torch.zeros(30522))

    def forward(self, ids, types, rows):
        h = self.bert(ids, types)
        hm = h.reshape(-1, h.shape[-1])[rows]
        t = self.transform_ln(torch.nn.functional.gelu(self.transform(hm)))
        return t @ self.bert.word.weight.T + self.decoder_bias
