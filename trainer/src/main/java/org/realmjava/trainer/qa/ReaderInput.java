package org.realmjava.trainer.qa;

import java.util.ArrayList;
import java.util.List;
import org.realmjava.trainer.corpus.Block;
import org.realmjava.transformer.tokenizer.Encoding;
import org.realmjava.transformer.tokenizer.WordPieceTokenizer;

/**
 * One (question, block) pair as the Open-QA reader reads it, [CLS] question [SEP] title [SEP] body
 * [SEP] (cut to the reader's length), with every candidate answer span: up to maxSpan wordpieces
 * inside the title (when titles are read) or inside the body, starting at the start of a word and
 * ending at the end of one (no span begins or ends inside a word split into "##" pieces, nor on a
 * punctuation mark), with the exact text it covers in the block.
 *
 * @param spanStart position of each span's first token in ids
 * @param spanEnd position of its last token
 * @param inTitle whether the span lies in the title
 * @param charStart start of the span in its source text (the title or the body), UTF-16 index
 * @param charEnd end (exclusive)
 */
public record ReaderInput(int block, int[] ids, int[] types, int[] spanStart, int[] spanEnd, boolean[] inTitle, int[] charStart, int[] charEnd) {

    public int spans() {
        return spanStart.length;
    }

    /** The exact text of span s in block b (this input's block). */
    public String spanText(Block b, int s) {
        return (inTitle[s] ? b.title() : b.text()).substring(charStart[s], charEnd[s]);
    }

    /** Tokenizes a block for reading: [CLS] title [SEP] body [SEP], the body cut to blockLen. */
    public static Encoding encodeBlock(WordPieceTokenizer tok, Block b, int blockLen) {
        return tok.encode(b.title(), b.text(), blockLen, WordPieceTokenizer.Truncation.ONLY_SECOND);
    }

    /**
     * Builds the input. question: [CLS] q [SEP] ids; block: the block's encoding; maxLen: the
     * reader's longest sequence.
     */
    public static ReaderInput build(int[] question, int blockIndex, Encoding block, int maxLen, int maxSpan, boolean readTitles, int sepId) {
        int n = Math.min(maxLen, question.length + block.length() - 1);
        int[] ids = new int[n], types = new int[n];
        System.arraycopy(question, 0, ids, 0, Math.min(n, question.length));
        for (int i = question.length; i < n; i++) {
            ids[i] = block.ids()[i - question.length + 1];
            types[i] = 1;
        }
        boolean cut = n == maxLen && n < question.length + block.length() - 1;
        if (cut) ids[n - 1] = sepId;
        // spans over block tokens 1 .. (last kept), by the block's own positions
        int lastKept = n - question.length; // block token index at reader position n-1
        if (cut) lastKept--; // the [SEP] written over the last kept token
        List<int[]> spans = new ArrayList<>();
        int[] seq = block.sequenceIds();
        String[] toks = block.tokens();
        for (int i = 1; i <= lastKept && i < block.length(); i++) {
            int segment = seq[i];
            if (segment < 0 || (segment == 0 && !readTitles) || continuation(toks[i]) || punctuation(toks[i])) continue;
            for (int j = i; j <= lastKept && j < block.length() && j - i < maxSpan && seq[j] == segment; j++) {
                boolean endsWord = j + 1 >= block.length() || seq[j + 1] != segment || !continuation(toks[j + 1]);
                if (endsWord && !punctuation(toks[j])) spans.add(new int[] {i, j});
            }
        }
        int m = spans.size();
        int[] st = new int[m], en = new int[m], cs = new int[m], ce = new int[m];
        boolean[] title = new boolean[m];
        for (int s = 0; s < m; s++) {
            int i = spans.get(s)[0], j = spans.get(s)[1];
            st[s] = question.length + i - 1;
            en[s] = question.length + j - 1;
            title[s] = seq[i] == 0;
            cs[s] = block.offsetStarts()[i];
            ce[s] = block.offsetEnds()[j];
        }
        return new ReaderInput(blockIndex, ids, types, st, en, title, cs, ce);
    }

    /** A token of punctuation only (BERT splits every punctuation character into a token of its own). */
    private static boolean punctuation(String token) {
        if (token == null || token.isEmpty() || token.startsWith("[")) return false;
        return token.codePoints().allMatch(c -> !Character.isLetterOrDigit(c));
    }

    private static boolean continuation(String token) {
        return token != null && token.startsWith("##");
    }
}
