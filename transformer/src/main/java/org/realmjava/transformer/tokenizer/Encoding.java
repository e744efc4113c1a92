package org.realmjava.transformer.tokenizer;

/**
 * One tokenized input: ids, token type ids (0 for the first text, 1 for the second), attention
 * mask (1 for real tokens, 0 for padding) and, per token, the [start, end) character range it
 * came from in the original text (UTF-16 indices, as String.substring uses; special and padding
 * tokens have (0, 0)). sequenceIds says which text a token came from: 0, 1, or -1 for specials.
 */
public record Encoding(int[] ids, int[] typeIds, int[] attentionMask, int[] offsetStarts, int[] offsetEnds,
                       int[] sequenceIds, String[] tokens) {
    public int length() {
        return ids.length;
    }

    /** Tokens that are not padding. */
    public int realTokens() {
        int n = 0;
        for (int m : attentionMask) n += m;
        return n;
    }
}
