package org.realmjava.transformer.bert;

import java.util.Map;
import java.util.Random;
import org.realmjava.tensor.Tensor;
import org.realmjava.tensor.nn.Linear;
import org.realmjava.tensor.nn.Module;

/**
 * The open-QA span reader's scorer: an MLP over token states gives start and end logits;
 * a span (s, e) scores start[s] + end[e]. Marginalising over spans and documents is the trainer's.
 */
public final class SpanReaderHead implements Module {
    public final Linear hidden, out;

    public SpanReaderHead(int hiddenSize, int mlpSize, long seed) {
        Random rng = new Random(seed);
        this.hidden = Linear.init(rng, hiddenSize, mlpSize, 0.02f, true);
        this.out = Linear.init(rng, mlpSize, 2, 0.02f, true);
    }

    /** [batch, len, 2]: start logits at [..., 0], end logits at [..., 1]. */
    public Tensor startEndLogits(Tensor states) {
        return out.forward(hidden.forward(states).relu());
    }

    @Override
    public void collectParameters(String p, Map<String, Tensor> out2) {
        hidden.collectParameters(p + "span.hidden.", out2);
        out.collectParameters(p + "span.out.", out2);
    }
}
