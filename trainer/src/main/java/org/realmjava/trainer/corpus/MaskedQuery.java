package org.realmjava.trainer.corpus;

/**
 * A pre-training query: sentence {@code sentence} of block {@code block} as [CLS] tokens [SEP]
 * with some wordpieces replaced by [MASK]; positions (ascending, indices into ids) and the original
 * ids there (the targets). maskedText is the masked span's text (salient masking) or the
 * wordpieces' text, for reports.
 */
public record MaskedQuery(int block, int sentence, int[] ids, int[] positions, int[] targets, String maskedText) {
    public int masked() {
        return positions.length;
    }
}
