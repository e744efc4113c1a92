package org.realmjava.trainer.corpus;

import java.text.BreakIterator;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.realmjava.transformer.tokenizer.Encoding;
import org.realmjava.transformer.tokenizer.WordPieceTokenizer;

/**
 * Splits documents into blocks along sentence boundaries (the JDK's English sentence
 * BreakIterator, plus "; \"" before a quoted example, as WordNet glosses write them): sentences are added to a block while [CLS] title [SEP] body [SEP] fits in
 * blockLength wordpieces; a sentence longer than a whole block is cut at word starts. Blocks keep
 * the document's exact text.
 */
public final class BlockSplitter {
    /** A block body gets at least this many wordpieces, however long its title. */
    static final int MIN_BODY = 16;

    private final WordPieceTokenizer tokenizer;
    private final int blockLength;

    public BlockSplitter(WordPieceTokenizer tokenizer, int blockLength) {
        if (blockLength < MIN_BODY + 3) throw new IllegalArgumentException("block_len must be at least " + (MIN_BODY + 3) + " wordpieces, got " + blockLength);
        this.tokenizer = tokenizer;
        this.blockLength = blockLength;
    }

    public List<Block> split(List<Document> docs) {
        List<Block> out = new ArrayList<>();
        for (Document d : docs) split(d, out);
        return out;
    }

    private void split(Document doc, List<Block> out) {
        String text = doc.text();
        if (text.isBlank()) return;
        int titleTokens = doc.title().isEmpty() ? 0 : tokenizer.encode(doc.title()).length() - 2;
        int budget = Math.max(MIN_BODY, blockLength - 3 - titleTokens);
        Encoding enc = tokenizer.encode(text);
        // token i of the text is enc position i + 1 (after [CLS]); its start offset in the text
        int n = enc.length() - 2;
        int[] tokStart = new int[n];
        boolean[] wordStart = new boolean[n];
        for (int i = 0; i < n; i++) {
            tokStart[i] = enc.offsetStarts()[i + 1];
            wordStart[i] = !enc.tokens()[i + 1].startsWith("##");
        }
        // sentences as token ranges [first, last)
        List<int[]> sentences = new ArrayList<>();
        BreakIterator it = BreakIterator.getSentenceInstance(Locale.ENGLISH);
        it.setText(text);
        int tok = 0;
        List<Integer> ends = new ArrayList<>();
        for (int e = it.next(); e != BreakIterator.DONE; e = it.next()) {
            // a quoted example after a semicolon is a sentence of its own (WordNet glosses: definition; "example"; ...)
            for (int q = text.indexOf("; \"", ends.isEmpty() ? 0 : ends.get(ends.size() - 1)); q >= 0 && q < e; q = text.indexOf("; \"", q + 1)) {
                ends.add(q + 1);
            }
            ends.add(e);
        }
        for (int e : ends) {
            int first = tok;
            while (tok < n && tokStart[tok] < e) tok++;
            if (tok > first) sentences.add(new int[] {first, tok});
        }
        // cut sentences longer than a block at word starts
        List<int[]> pieces = new ArrayList<>();
        for (int[] s : sentences) {
            int a = s[0];
            while (s[1] - a > budget) {
                int cut = a + budget;
                while (cut > a + 1 && !wordStart[cut]) cut--;
                if (cut == a + 1 && !wordStart[cut]) cut = a + budget; // one word longer than a block
                pieces.add(new int[] {a, cut});
                a = cut;
            }
            pieces.add(new int[] {a, s[1]});
        }
        int i = 0;
        while (i < pieces.size()) {
            int j = i, used = 0;
            while (j < pieces.size() && used + (pieces.get(j)[1] - pieces.get(j)[0]) <= budget) {
                used += pieces.get(j)[1] - pieces.get(j)[0];
                j++;
            }
            out.add(block(doc, enc, pieces.subList(i, j), out.size()));
            i = j;
        }
    }

    private static Block block(Document doc, Encoding enc, List<int[]> pieces, int index) {
        // char range of a token range: from the first token's start to the last token's end
        int begin = enc.offsetStarts()[pieces.get(0)[0] + 1];
        int end = enc.offsetEnds()[pieces.get(pieces.size() - 1)[1]];
        String text = doc.text().substring(begin, end);
        int[] starts = new int[pieces.size()], ends = new int[pieces.size()];
        for (int k = 0; k < pieces.size(); k++) {
            starts[k] = enc.offsetStarts()[pieces.get(k)[0] + 1] - begin;
            ends[k] = enc.offsetEnds()[pieces.get(k)[1]] - begin;
        }
        return new Block(index, doc.id(), doc.title(), text, starts, ends, Block.hash(doc.title(), text));
    }
}
