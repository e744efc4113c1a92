package org.realmjava.trainer.eval;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.function.LongConsumer;
import org.realmjava.tensor.Autograd;
import org.realmjava.tensor.Tensor;
import org.realmjava.trainer.corpus.Block;
import org.realmjava.trainer.qa.OpenQa;
import org.realmjava.trainer.qa.QaExample;

/**
 * Open-QA evaluation of a fine-tuned model: exact match of its answers ({@link AnswerMatcher}:
 * SQuAD normalisation, or DrQA's regex match for CuratedTREC) with the reader reading the top k
 * blocks of the chosen retriever, and retrieval recall@k (some block of the top k contains a gold
 * answer) of both the dense retriever and BM25 over the same blocks.
 */
public final class QaEvaluation {
    public enum Retriever { DENSE, BM25 }

    /** One question's outcome: the prediction, whether it is an exact match, and the rank (0-based; -1: none in the top maxK) of the first block holding an answer per retriever. */
    public record Outcome(QaExample example, OpenQa.Prediction prediction, boolean exact, int denseRank, int bm25Rank, int[] read) {}

    public record Result(List<Outcome> outcomes, int[] ks, double[] denseRecall, double[] bm25Recall, double exactMatch, Retriever retriever, int k) {
        public double recall(Retriever r, int atK) {
            for (int i = 0; i < ks.length; i++) if (ks[i] == atK) return (r == Retriever.DENSE ? denseRecall : bm25Recall)[i];
            throw new IllegalArgumentException("recall@" + atK + " was not measured");
        }
    }

    private QaEvaluation() {}

    public static Result run(OpenQa qa, List<QaExample> questions, int k, Retriever retriever, LongConsumer progress) {
        TreeSet<Integer> kset = new TreeSet<>(List.of(1, 5, 20, k));
        kset.removeIf(x -> x > qa.blocks.size());
        kset.add(Math.min(k, qa.blocks.size()));
        int[] ks = kset.stream().mapToInt(Integer::intValue).toArray();
        int maxK = ks[ks.length - 1];
        List<String> normalizedBlocks = new ArrayList<>(qa.blocks.size());
        for (Block b : qa.blocks) normalizedBlocks.add(AnswerNormalizer.normalize(b.text()));
        List<Outcome> out = new ArrayList<>(questions.size());
        long[] denseHits = new long[ks.length], bm25Hits = new long[ks.length];
        int exact = 0;
        try (Bm25Retriever bm25 = new Bm25Retriever(qa.blocks)) {
            int batch = 16;
            for (int start = 0; start < questions.size(); start += batch) {
                List<QaExample> part = questions.subList(start, Math.min(questions.size(), start + batch));
                int[][] dense;
                try (var g = Autograd.noGrad()) {
                    List<int[]> ids = new ArrayList<>();
                    for (QaExample q : part) ids.add(qa.encodeQuestion(q.question()));
                    Tensor qv = qa.queryVectors(ids, null);
                    dense = qa.search(qv, maxK);
                }
                for (int i = 0; i < part.size(); i++) {
                    QaExample q = part.get(i);
                    AnswerMatcher m = AnswerMatcher.of(q);
                    int[] lexical = bm25.search(q.question(), maxK);
                    int dr = firstWithAnswer(dense[i], qa.blocks, normalizedBlocks, m), br = firstWithAnswer(lexical, qa.blocks, normalizedBlocks, m);
                    for (int j = 0; j < ks.length; j++) {
                        if (dr >= 0 && dr < ks[j]) denseHits[j]++;
                        if (br >= 0 && br < ks[j]) bm25Hits[j]++;
                    }
                    int[] read = java.util.Arrays.copyOf(retriever == Retriever.DENSE ? dense[i] : lexical, Math.min(k, (retriever == Retriever.DENSE ? dense[i] : lexical).length));
                    OpenQa.Prediction p = retriever == Retriever.DENSE ? qa.predict(List.of(q.question()), k).get(0)
                            : qa.predict(List.of(q.question()), new int[][] {read}, k).get(0);
                    boolean em = !p.answer().isEmpty() && m.exact(p.answer());
                    if (em) exact++;
                    out.add(new Outcome(q, p, em, dr, br, read));
                }
                if (progress != null) progress.accept(out.size());
            }
        }
        double[] dRecall = new double[ks.length], bRecall = new double[ks.length];
        for (int j = 0; j < ks.length; j++) {
            dRecall[j] = (double) denseHits[j] / questions.size();
            bRecall[j] = (double) bm25Hits[j] / questions.size();
        }
        return new Result(out, ks, dRecall, bRecall, (double) exact / questions.size(), retriever, Math.min(k, qa.blocks.size()));
    }

    private static int firstWithAnswer(int[] ranked, List<Block> blocks, List<String> normalized, AnswerMatcher m) {
        for (int r = 0; r < ranked.length; r++) {
            Block b = blocks.get(ranked[r]);
            if (m.inBlock(b.title() + " " + b.text(), normalized.get(ranked[r])) || m.inBlock(b.title(), AnswerNormalizer.normalize(b.title()))) return r;
        }
        return -1;
    }
}
