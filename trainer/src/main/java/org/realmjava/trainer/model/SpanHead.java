package org.realmjava.trainer.model;

import java.util.Map;
import java.util.Random;
import org.realmjava.tensor.Ops;
import org.realmjava.tensor.Tensor;
import org.realmjava.tensor.nn.Linear;
import org.realmjava.tensor.nn.Module;

/**
 * The Open-QA reader's span scorer (as in ORQA and REALM's fine-tuning): an MLP over the start and
 * end token states, score(i, j) = w . relu(W_s h_i + W_e h_j + b) + c, hidden 256. The two
 * projections are taken once per token and gathered per span, so a sequence's ~2,000 candidate
 * spans cost two [tokens, hidden] x [hidden, 256] products and a gather, not an MLP each.
 * Parameter names: "span.start.", "span.end.", "span.out.".
 */
public final class SpanHead implements Module {
    public static final int HIDDEN = 256;

    public final Linear start, end, out;

    public SpanHead(Linear start, Linear end, Linear out) {
        if (end.bias != null) throw new IllegalArgumentException("span head: the end projection has no bias (the start one carries it)");
        this.start = start;
        this.end = end;
        this.out = out;
    }

    /** A new head for hidden size h (BERT's init: normal(0, 0.02), zero biases). */
    public static SpanHead init(int h, long seed) {
        Random rng = new Random(seed);
        return new SpanHead(Linear.init(rng, h, HIDDEN, 0.02f, true), Linear.init(rng, h, HIDDEN, 0.02f, false), Linear.init(rng, HIDDEN, 1, 0.02f, true));
    }

    /**
     * Scores of spans: hidden [rows, h] token states, startRows/endRows [n] (i32) the rows of each
     * span's first and last token. Returns [n].
     */
    public Tensor scores(Tensor hidden, Tensor startRows, Tensor endRows) {
        Tensor a = start.forward(hidden), b = end.forward(hidden);
        Tensor act = Ops.indexSelect(a, 0, startRows).add(Ops.indexSelect(b, 0, endRows)).relu();
        return out.forward(act).reshape(startRows.size(0));
    }

    @Override
    public void collectParameters(String p, Map<String, Tensor> outMap) {
        start.collectParameters(p + "span.start.", outMap);
        end.collectParameters(p + "span.end.", outMap);
        out.collectParameters(p + "span.out.", outMap);
    }
}
