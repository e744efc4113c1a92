package org.realmjava.transformer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.function.LongConsumer;
import org.realmjava.tensor.Autograd;
import org.realmjava.tensor.Tensor;
import org.realmjava.transformer.bert.BertEncoder;
import org.realmjava.transformer.tokenizer.Encoding;
import org.realmjava.transformer.tokenizer.WordPieceTokenizer;

/**
 * Texts in, one pooled vector per text out: tokenize, sort by length (less padding), run the
 * encoder in batches without a graph, pool ([CLS] or masked mean), and return rows in input order.
 */
public final class TextEncoder {
    public enum Pooling { CLS, MEAN }

    private final BertEncoder encoder;
    private final WordPieceTokenizer tokenizer;
    private final Pooling pooling;
    private final int maxLength;

    public TextEncoder(BertEncoder encoder, WordPieceTokenizer tokenizer, Pooling pooling, int maxLength) {
        if (maxLength < 2) throw new IllegalArgumentException("max length must be at least 2 (for [CLS] and [SEP]), got " + maxLength);
        this.encoder = encoder;
        this.tokenizer = tokenizer;
        this.pooling = pooling;
        this.maxLength = Math.min(maxLength, encoder.config.maxPositions());
        if (tokenizer.vocabSize() > encoder.config.vocabSize()) {
            throw new IllegalArgumentException("the tokenizer has " + tokenizer.vocabSize() + " tokens, the model's vocabulary " + encoder.config.vocabSize());
        }
    }

    public int dimension() {
        return encoder.config.hiddenSize();
    }

    /** Statistics of one encode call. */
    public record Stats(long texts, long tokens, double seconds) {}

    /**
     * Encodes texts in batches of batchSize; progress receives the number of texts done.
     * Returns [texts][hidden]; stats[0] gets the figures when non-null.
     */
    public float[][] encode(List<String> texts, int batchSize, LongConsumer progress, Stats[] stats) {
        if (batchSize <= 0) throw new IllegalArgumentException("batch size must be positive, got " + batchSize);
        long t0 = System.nanoTime();
        List<Encoding> enc = new ArrayList<>(texts.size());
        for (String t : texts) enc.add(tokenizer.encode(t, null, maxLength, WordPieceTokenizer.Truncation.LONGEST_FIRST));
        Integer[] order = new Integer[texts.size()];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Arrays.sort(order, Comparator.comparingInt(i -> enc.get(i).length()));
        float[][] out = new float[texts.size()][];
        long tokens = 0;
        int h = dimension();
        for (int start = 0; start < order.length; start += batchSize) {
            int n = Math.min(batchSize, order.length - start);
            List<Encoding> batch = new ArrayList<>(n);
            for (int i = 0; i < n; i++) batch.add(enc.get(order[start + i]));
            batch = tokenizer.pad(batch, 0);
            int len = batch.get(0).length();
            int[] ids = new int[n * len], types = new int[n * len];
            float[] mask = new float[n * len];
            for (int i = 0; i < n; i++) {
                Encoding e = batch.get(i);
                System.arraycopy(e.ids(), 0, ids, i * len, len);
                System.arraycopy(e.typeIds(), 0, types, i * len, len);
                for (int j = 0; j < len; j++) mask[i * len + j] = e.attentionMask()[j];
                tokens += e.realTokens();
            }
            float[] pooled;
            try (var g = Autograd.noGrad()) {
                Tensor m = Tensor.of(mask, n, len);
                Tensor hidden = encoder.forward(Tensor.ofInts(ids, n, len), Tensor.ofInts(types, n, len), m, null);
                pooled = (pooling == Pooling.CLS ? BertEncoder.poolCls(hidden) : BertEncoder.poolMean(hidden, m)).toFloatArray();
            }
            for (int i = 0; i < n; i++) out[order[start + i]] = Arrays.copyOfRange(pooled, i * h, (i + 1) * h);
            if (progress != null) progress.accept(start + n);
        }
        if (stats != null) stats[0] = new Stats(texts.size(), tokens, (System.nanoTime() - t0) / 1e9);
        return out;
    }
}
