package org.realmjava.transformer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.function.LongConsumer;
import org.realmjava.tensor.Autograd;
import org.realmjava.transformer.bert.BertEncoder;
import org.realmjava.transformer.tokenizer.Encoding;
import org.realmjava.transformer.tokenizer.WordPieceTokenizer;

/**
 * Texts in, one pooled vector per text out: tokenize, sort by length, run the encoder in batches
 * without a graph and without padding (BertEncoder.forwardUnpadded), pool ([CLS] or mean), and
 * return rows in input order.
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
            List<int[]> ids = new ArrayList<>(n), types = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                Encoding e = enc.get(order[start + i]);
                int real = e.realTokens(); // (encode does not pad; a padded encoding keeps only its real tokens here)
                ids.add(real == e.length() ? e.ids() : Arrays.copyOf(e.ids(), real));
                types.add(real == e.length() ? e.typeIds() : Arrays.copyOf(e.typeIds(), real));
                tokens += real;
            }
            float[] pooled;
            try (var g = Autograd.noGrad()) {
                // unpadded: the batch's texts one after another, each attending to itself (the padded forward's bits per real row)
                BertEncoder.Unpadded u = encoder.forwardUnpadded(ids, types);
                pooled = (pooling == Pooling.CLS ? u.poolCls() : u.poolMean()).toFloatArray();
                u.hidden().release();
            }
            for (int i = 0; i < n; i++) out[order[start + i]] = Arrays.copyOfRange(pooled, i * h, (i + 1) * h);
            if (progress != null) progress.accept(start + n);
        }
        if (stats != null) stats[0] = new Stats(texts.size(), tokens, (System.nanoTime() - t0) / 1e9);
        return out;
    }
}
