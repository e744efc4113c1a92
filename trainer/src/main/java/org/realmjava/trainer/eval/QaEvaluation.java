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
        // a block holds an answer in its title or its text: both, normalised once per block
        List<String> texts = new ArrayList<>(qa.blocks.size()), normalized = new ArrayList<>(qa.blocks.size());
        for (Block b : qa.blocks) {
            texts.add(b.title() + "\n" + b.text());
            normalized.add(AnswerNormalizer.normalize(b.title() + "\n" + b.text()));
        }
        List<Outcome> out = new ArrayList<>(questions.size());
        long[] denseHits = new long[ks.length], bm25Hits = new long[ks.length];
        int exact = 0;
        try (Bm25Retriever bm25 = new Bm25Retriever(qa.blocks)) {
            int batch = 16;
            for (int start = 0; start < questions.size(); start += batch) {
                List<QaExample> part = questions.subList(start, Math.min(questions.size(), start + batch));
                int[][] dense, read = new int[part.size()][];
                double[][] prior = null;
                try (var g = Autograd.noGrad()) {
                    List<int[]> ids = new ArrayList<>();
                    for (QaExample q : part) ids.add(qa.encodeQuestion(q.question()));
                    Tensor qv = qa.queryVectors(ids, null);
                    dense = qa.search(qv, maxK);
                    // the reader's blocks: the dense top k (a prefix of the exact top maxK) with their p(z|x), or BM25's with p(z|x) uniform
                    if (retriever == Retriever.DENSE) {
                        for (int i = 0; i < part.size(); i++) read[i] = java.util.Arrays.copyOf(dense[i], Math.min(k, dense[i].length));
                        prior = qa.priors(qv, read);
                    }
                }
                int[] denseRank = new int[part.size()], bm25Rank = new int[part.size()];
                List<AnswerMatcher> matchers = new ArrayList<>(part.size());
                for (int i = 0; i < part.size(); i++) {
                    QaExample q = part.get(i);
                    AnswerMatcher m = AnswerMatcher.of(q);
                    matchers.add(m);
                    int[] lexical = bm25.search(q.question(), maxK);
                    denseRank[i] = firstWithAnswer(dense[i], texts, normalized, m);
                    bm25Rank[i] = firstWithAnswer(lexical, texts, normalized, m);
                    for (int j = 0; j < ks.length; j++) {
                        if (denseRank[i] >= 0 && denseRank[i] < ks[j]) denseHits[j]++;
                        if (bm25Rank[i] >= 0 && bm25Rank[i] < ks[j]) bm25Hits[j]++;
                    }
                    if (retriever == Retriever.BM25) read[i] = java.util.Arrays.copyOf(lexical, Math.min(k, lexical.length));
                }
                List<OpenQa.Prediction> predictions = qa.predict(part.stream().map(QaExample::question).toList(), read, prior);
                for (int i = 0; i < part.size(); i++) {
                    OpenQa.Prediction p = predictions.get(i);
                    boolean em = !p.answer().isEmpty() && matchers.get(i).exact(p.answer());
                    if (em) exact++;
                    out.add(new Outcome(part.get(i), p, em, denseRank[i], bm25Rank[i], read[i]));
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

    private static int firstWithAnswer(int[] ranked, List<String> texts, List<String> normalized, AnswerMatcher m) {
        for (int r = 0; r < ranked.length; r++) if (m.inBlock(texts.get(ranked[r]), normalized.get(ranked[r]))) return r;
        return -1;
    }
}
