package org.realmjava.trainer.retrieval;

import java.util.ArrayList;
import java.util.List;
import org.realmjava.trainer.corpus.Block;
import org.realmjava.transformer.tokenizer.Encoding;
import org.realmjava.transformer.tokenizer.WordPieceTokenizer;

/**
 * The token ids of every block as the document tower reads it, [CLS] title [SEP] body [SEP]
 * (at most blockLength), tokenized once; the null document is the empty block [CLS] [SEP] [SEP].
 * The reader reads a block as [CLS] x [SEP] title [SEP] body [SEP]: the same ids after [CLS].
 */
public final class BlockInputs {
    private final List<int[]> ids;
    private final int[] nullIds;

    public BlockInputs(List<Block> blocks, WordPieceTokenizer tokenizer, int blockLength) {
        ids = new ArrayList<>(blocks.size());
        for (Block b : blocks) {
            Encoding e = tokenizer.encode(b.title(), b.text(), blockLength, WordPieceTokenizer.Truncation.ONLY_SECOND);
            ids.add(e.ids());
        }
        nullIds = tokenizer.encode("", "", 0, WordPieceTokenizer.Truncation.NONE).ids();
    }

    public int size() {
        return ids.size();
    }

    /** Every block's ids, in block order (the arrays themselves, not copies). */
    public List<int[]> all() {
        return java.util.Collections.unmodifiableList(ids);
    }

    /** Document-tower ids of block i; NULL_DOCUMENT (-1) gives the null document's. */
    public int[] ids(int block) {
        return block == NULL_DOCUMENT ? nullIds : ids.get(block);
    }

    /** Token type ids for a document-tower input: 0 for [CLS] title [SEP], 1 for body [SEP]. */
    public static int[] typeIds(int[] ids, int sepId) {
        int[] t = new int[ids.length];
        int firstSep = -1;
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] == sepId) {
                firstSep = i;
                break;
            }
        }
        for (int i = firstSep + 1; i < ids.length; i++) t[i] = 1;
        return t;
    }

    /** Stands for the null document where a block index is expected. */
    public static final int NULL_DOCUMENT = -1;
}
