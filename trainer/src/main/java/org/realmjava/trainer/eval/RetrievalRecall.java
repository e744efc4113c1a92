package org.realmjava.trainer.eval;

import java.util.ArrayList;
import java.util.List;
import org.realmjava.mips.FloatMatrix;
import org.realmjava.mips.RefreshableIndex;
import org.realmjava.mips.SearchOptions;
import org.realmjava.mips.SearchResult;
import org.realmjava.tensor.Autograd;
import org.realmjava.tensor.Tensor;
import org.realmjava.trainer.corpus.Block;
import org.realmjava.trainer.model.RealmModel;
import org.realmjava.trainer.qa.QaExample;
import org.realmjava.trainer.retrieval.Batches;
import org.realmjava.transformer.tokenizer.WordPieceTokenizer;

/**
 * Retrieval recall@k of a query tower over an index of the blocks: the fraction of questions for
 * which some block among the top k contains a gold answer (normalised as SQuAD does, as whole
 * words, in the block's text). Questions are read as [CLS] question [SEP], at most queryLen wordpieces.
 */
public final class RetrievalRecall {
    public record Result(int questions, int[] ks, double[] recall) {
        public double at(int k) {
            for (int i = 0; i < ks.length; i++) if (ks[i] == k) return recall[i];
            throw new IllegalArgumentException("recall@" + k + " was not measured");
        }
    }

    private RetrievalRecall() {}

    public static Result evaluate(RealmModel model, WordPieceTokenizer tok, List<Block> blocks, RefreshableIndex index, List<QaExample> questions,
                                  int queryLen, int[] ks) {
        int maxK = 0;
        for (int k : ks) maxK = Math.max(maxK, k);
        maxK = Math.min(maxK, blocks.size());
        List<String> normalizedBlocks = new ArrayList<>(blocks.size());
        for (Block b : blocks) normalizedBlocks.add(AnswerNormalizer.normalize(b.text()));
        long[] hits = new long[ks.length];
        int dim = model.spec.projectionDim(), batch = 32;
        for (int start = 0; start < questions.size(); start += batch) {
            List<QaExample> part = questions.subList(start, Math.min(questions.size(), start + batch));
            List<int[]> ids = new ArrayList<>(), types = new ArrayList<>();
            for (QaExample q : part) {
                int[] e = tok.encode(q.question(), null, queryLen, WordPieceTokenizer.Truncation.LONGEST_FIRST).ids();
                ids.add(e);
                types.add(new int[e.length]);
            }
            float[] qv;
            try (var g = Autograd.noGrad()) {
                Batches b = Batches.pad(ids, types, tok.padId());
                Tensor q = model.embedQueries(b.ids(), b.types(), b.mask(), null);
                qv = q.toFloatArray();
            }
            SearchResult r = index.search(new FloatMatrix(qv, part.size(), dim), maxK, SearchOptions.NONE);
            for (int i = 0; i < part.size(); i++) {
                List<String> answers = part.get(i).answers().stream().map(AnswerNormalizer::normalize).toList();
                int first = Integer.MAX_VALUE; // rank (0-based) of the first block holding an answer
                for (int rank = 0; rank < r.count(i) && first == Integer.MAX_VALUE; rank++) {
                    String text = normalizedBlocks.get((int) r.id(i, rank));
                    for (String a : answers) {
                        if (AnswerNormalizer.containsWords(text, a)) {
                            first = rank;
                            break;
                        }
                    }
                }
                for (int j = 0; j < ks.length; j++) if (first < ks[j]) hits[j]++;
            }
        }
        double[] recall = new double[ks.length];
        for (int j = 0; j < ks.length; j++) recall[j] = (double) hits[j] / questions.size();
        return new Result(questions.size(), ks.clone(), recall);
    }
}
