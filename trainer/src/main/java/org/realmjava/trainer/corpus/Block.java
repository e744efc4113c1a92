package org.realmjava.trainer.corpus;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * One retrieval unit: a run of whole sentences of a document (at most the block length in
 * wordpieces with its title), its exact text, where its sentences start and end in that text
 * (UTF-16 indices), and a hash of title + text: REALM excludes a query's own block from its
 * candidates by this hash, so a duplicate of the block elsewhere in the corpus is excluded too.
 */
public record Block(int index, String sourceId, String title, String text, int[] sentenceStarts, int[] sentenceEnds, long hash) {
    public int sentences() {
        return sentenceStarts.length;
    }

    public String sentence(int i) {
        return text.substring(sentenceStarts[i], sentenceEnds[i]);
    }

    /** The first 8 bytes of SHA-256(title NUL text), big-endian. */
    public static long hash(String title, String text) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest((title + "\u0000" + text).getBytes(StandardCharsets.UTF_8));
            long h = 0;
            for (int i = 0; i < 8; i++) h = (h << 8) | (d[i] & 0xFF);
            return h;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }
}
