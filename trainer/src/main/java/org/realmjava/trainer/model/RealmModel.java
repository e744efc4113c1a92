package org.realmjava.trainer.model;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.realmjava.tensor.Autograd;
import org.realmjava.tensor.Tensor;
import org.realmjava.tensor.nn.Linear;
import org.realmjava.tensor.nn.Module;
import org.realmjava.transformer.bert.BertEncoder;
import org.realmjava.transformer.bert.MaskedLanguageModelHead;

/**
 * REALM's three networks: the knowledge retriever (a query tower and a document tower, each
 * BERT -> pooled vector -> linear projection; one BERT when the towers are shared) and the
 * knowledge-augmented encoder (a BERT over [CLS] x [SEP] z [SEP] with an MLM head tied to its
 * word embeddings). Parameter names: "query.", "doc.", "reader." for the BERTs (Hugging Face
 * names below), "query_projection.", "doc_projection.", "reader.cls.predictions." for the heads.
 */
public final class RealmModel implements Module {
    public final RetrieverSpec spec;
    public final BertEncoder queryTower, docTower, reader;
    public final Linear queryProjection, docProjection;
    public final MaskedLanguageModelHead mlm;

    public RealmModel(RetrieverSpec spec, BertEncoder queryTower, BertEncoder docTower, Linear queryProjection, Linear docProjection,
                      BertEncoder reader, MaskedLanguageModelHead mlm) {
        if (spec.sharedTowers() && queryTower != docTower) throw new IllegalArgumentException("shared towers need one BERT for both sides");
        int h = queryTower.config.hiddenSize();
        for (Linear p : new Linear[] {queryProjection, docProjection}) {
            if (p.weight.size(0) != spec.projectionDim() || p.weight.size(1) != h) {
                throw new IllegalArgumentException("projection " + java.util.Arrays.toString(p.weight.shape()) + " does not map hidden " + h
                        + " to projection_dim " + spec.projectionDim());
            }
        }
        this.spec = spec;
        this.queryTower = queryTower;
        this.docTower = docTower;
        this.queryProjection = queryProjection;
        this.docProjection = docProjection;
        this.reader = reader;
        this.mlm = mlm;
    }

    /** Query vectors [batch, projectionDim] for ids/types/mask [batch, len]; rng null: no dropout. */
    public Tensor embedQueries(Tensor ids, Tensor types, Tensor mask, SplittableRandom rng) {
        return embed(spec, queryTower, queryProjection, ids, types, mask, rng);
    }

    /** Document vectors [batch, projectionDim]. */
    public Tensor embedDocuments(Tensor ids, Tensor types, Tensor mask, SplittableRandom rng) {
        return embedDocuments(ids, types, mask, rng, BertEncoder.LayerMemory.KEEP);
    }

    /** Document vectors, the tower keeping each layer's activations for the backward as memory says (BertEncoder.LayerMemory). */
    public Tensor embedDocuments(Tensor ids, Tensor types, Tensor mask, SplittableRandom rng, BertEncoder.LayerMemory memory) {
        return docProjection.forward(pool(spec, docTower, ids, types, mask, rng, memory));
    }

    /** Pooled (and normalised, when the spec says so) hidden states [batch, hidden], before the projection. */
    public static Tensor pool(RetrieverSpec spec, BertEncoder tower, Tensor ids, Tensor types, Tensor mask, SplittableRandom rng) {
        return pool(spec, tower, ids, types, mask, rng, BertEncoder.LayerMemory.KEEP);
    }

    /** {@link #pool} keeping each layer's activations for the backward as memory says. */
    public static Tensor pool(RetrieverSpec spec, BertEncoder tower, Tensor ids, Tensor types, Tensor mask, SplittableRandom rng, BertEncoder.LayerMemory memory) {
        Tensor hidden = tower.forward(ids, types, mask, rng, memory);
        return normalized(spec, spec.pooling().equals("cls") ? BertEncoder.poolCls(hidden) : BertEncoder.poolMean(hidden, mask));
    }

    /**
     * {@link #pool} for inference over unpadded sequences (BertEncoder.forwardUnpadded): the same
     * vectors, the padding rows of a batch never computed. [sequences, hidden].
     */
    public static Tensor poolUnpadded(RetrieverSpec spec, BertEncoder tower, List<int[]> ids, List<int[]> types) {
        BertEncoder.Unpadded u = tower.forwardUnpadded(ids, types);
        Tensor pooled = spec.pooling().equals("cls") ? u.poolCls() : u.poolMean();
        u.hidden().release();
        return normalized(spec, pooled);
    }

    private static Tensor normalized(RetrieverSpec spec, Tensor pooled) {
        if (!spec.normalize()) return pooled;
        Tensor norm = pooled.mul(pooled).sum(1, true).add(1e-12f).sqrt();
        return pooled.div(norm);
    }

    public static Tensor embed(RetrieverSpec spec, BertEncoder tower, Linear projection, Tensor ids, Tensor types, Tensor mask, SplittableRandom rng) {
        return projection.forward(pool(spec, tower, ids, types, mask, rng));
    }

    /** A copy of the document tower and its projection that later training steps do not change (for an index refresh). */
    public DocumentTower snapshotDocumentTower() {
        try (var g = Autograd.noGrad()) {
            Map<String, Tensor> copy = new LinkedHashMap<>();
            docTower.namedParameters().forEach((n, t) -> copy.put(n, t.detach().copy()));
            Tensor w = docProjection.weight.detach().copy(), b = docProjection.bias == null ? null : docProjection.bias.detach().copy();
            return new DocumentTower(spec, BertEncoder.fromParameters(docTower.config, copy), new Linear(w, b));
        }
    }

    /** The live document tower itself (no copy): for the index built before step 0. */
    public DocumentTower documentTower() {
        return new DocumentTower(spec, docTower, docProjection);
    }

    @Override
    public void collectParameters(String p, Map<String, Tensor> out) {
        queryTower.collectParameters(p + "query.", out);
        if (!spec.sharedTowers()) docTower.collectParameters(p + "doc.", out);
        queryProjection.collectParameters(p + "query_projection.", out);
        if (docProjection != queryProjection) docProjection.collectParameters(p + "doc_projection.", out);
        reader.collectParameters(p + "reader.", out);
        mlm.collectParameters(p + "reader.", out);
    }

    /** The retriever side only (what ICT trains and what fine-tuning may freeze). */
    public Map<String, Tensor> retrieverParameters() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        queryTower.collectParameters("query.", out);
        if (!spec.sharedTowers()) docTower.collectParameters("doc.", out);
        queryProjection.collectParameters("query_projection.", out);
        if (docProjection != queryProjection) docProjection.collectParameters("doc_projection.", out);
        return out;
    }

    /** A document tower with its projection: embeds blocks for the index. */
    public record DocumentTower(RetrieverSpec spec, BertEncoder tower, Linear projection) {
        public Tensor embed(Tensor ids, Tensor types, Tensor mask) {
            return RealmModel.embed(spec, tower, projection, ids, types, mask, null);
        }

        /** Vectors [blocks, projectionDim] of unpadded blocks (inference, under Autograd.noGrad()): what {@link #embed} gives their padded batch. */
        public Tensor embedUnpadded(List<int[]> ids, List<int[]> types) {
            return projection.forward(poolUnpadded(spec, tower, ids, types));
        }
    }
}
