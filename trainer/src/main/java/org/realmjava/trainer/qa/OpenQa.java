package org.realmjava.trainer.qa;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.realmjava.mips.FlatIndex;
import org.realmjava.mips.FloatMatrix;
import org.realmjava.mips.SearchOptions;
import org.realmjava.mips.SearchResult;
import org.realmjava.tensor.Autograd;
import org.realmjava.tensor.Tensor;
import org.realmjava.trainer.corpus.Block;
import org.realmjava.trainer.eval.AnswerNormalizer;
import org.realmjava.trainer.model.RealmModel;
import org.realmjava.trainer.model.SpanHead;
import org.realmjava.trainer.retrieval.Batches;
import org.realmjava.transformer.tokenizer.WordPieceTokenizer;
import org.realmjava.trainer.train.Softmax;

/**
 * Open-domain question answering with a REALM model: the question through the query tower, the top
 * k blocks of a fixed index of block vectors (the document tower's, frozen since the index was
 * built), p(z|x) = softmax_z f(x, z) over them, and each block read with the question by the
 * reader, whose span head scores every candidate span ({@link ReaderInput}); p(s|z,x) = softmax over
 * the spans of that block. Fine-tuning ({@link org.realmjava.trainer.finetune.Finetuner}) trains
 * through {@link #queryVectors}, {@link #retrievalScores} and {@link #read}; {@link #predict} answers.
 */
public final class OpenQa {
    /** How questions and blocks are read. */
    public record Settings(int k, int queryLen, int blockLen, int maxSpan, boolean readerTitles) {}

    /** A retrieved block as evidence: p(z|x), and the best span in it for the answer (or its own best span). */
    public record Evidence(int block, String title, String text, double retrievalProbability, String span, boolean spanInTitle, int spanStart, int spanEnd,
                           double spanProbability) {}

    /** An answer: its text (a span of a block), its probability sum_z p(z|x) sum_{s with this text} p(s|z,x) over the blocks read, and the evidence. */
    public record Prediction(String question, String answer, double probability, List<Evidence> evidence) {}

    /** The reader's output for candidate blocks: span scores [rows, maxSpans] (-inf in unused slots), the inputs, tokens read. */
    public record Reading(Tensor scores, List<ReaderInput> inputs, int width, long tokens) {}

    public final RealmModel model;
    public final SpanHead spanHead;
    public final WordPieceTokenizer tokenizer;
    public final List<Block> blocks;
    public final FlatIndex index;
    public final Settings settings;

    public OpenQa(RealmModel model, SpanHead spanHead, WordPieceTokenizer tokenizer, List<Block> blocks, FlatIndex index, Settings settings) {
        if (index.count() != blocks.size()) throw new IllegalArgumentException("index holds " + index.count() + " vectors for " + blocks.size() + " blocks");
        if (index.dim() != model.spec.projectionDim()) {
            throw new IllegalArgumentException("index vectors have " + index.dim() + " dimensions, the model projects to " + model.spec.projectionDim());
        }
        this.model = model;
        this.spanHead = spanHead;
        this.tokenizer = tokenizer;
        this.blocks = blocks;
        this.index = index;
        this.settings = settings;
    }

    /** [CLS] question [SEP], at most queryLen wordpieces. */
    public int[] encodeQuestion(String question) {
        return tokenizer.encode(question, null, settings.queryLen(), WordPieceTokenizer.Truncation.LONGEST_FIRST).ids();
    }

    /** Query vectors [b, dim] (through the graph when gradients are on); rng null: no dropout. */
    public Tensor queryVectors(List<int[]> questions, SplittableRandom rng) {
        List<int[]> types = new ArrayList<>(questions.size());
        for (int[] q : questions) types.add(new int[q.length]);
        Batches b = Batches.pad(questions, types, tokenizer.padId());
        return model.embedQueries(b.ids(), b.types(), b.mask(), rng);
    }

    /** The top k blocks of each query vector, best first. */
    public int[][] search(Tensor q, int k) {
        int b = (int) q.size(0), dim = model.spec.projectionDim();
        int kk = (int) Math.min(k, blocks.size());
        SearchResult r = index.search(new FloatMatrix(q.detach().toFloatArray(), b, dim), kk, SearchOptions.NONE);
        int[][] out = new int[b][];
        for (int i = 0; i < b; i++) {
            out[i] = new int[r.count(i)];
            for (int j = 0; j < out[i].length; j++) out[i][j] = (int) r.id(i, j);
        }
        return out;
    }

    /** f(x, z) [b, z] = scale * q . d_z, d the index's (constant) vectors of the candidates: the gradient reaches the query tower only. */
    public Tensor retrievalScores(Tensor q, int[][] cands) {
        int b = cands.length, z = cands[0].length, dim = model.spec.projectionDim();
        float[] d = new float[b * z * dim];
        for (int i = 0; i < b; i++) for (int j = 0; j < z; j++) System.arraycopy(index.vector(cands[i][j]), 0, d, (i * z + j) * dim, dim);
        return q.unsqueeze(1).mul(Tensor.of(d, b, z, dim)).sum(2, false).scale(model.spec.scoreScale());
    }

    /** Reads every (question i, block cands[i][j]) pair in one batch; rows of the result are i * z + j. */
    public Reading read(List<int[]> questions, int[][] cands, SplittableRandom rng) {
        int b = cands.length, z = cands[0].length, maxLen = model.reader.config.maxPositions();
        List<ReaderInput> inputs = new ArrayList<>(b * z);
        List<int[]> ids = new ArrayList<>(b * z), types = new ArrayList<>(b * z);
        Map<Integer, org.realmjava.transformer.tokenizer.Encoding> encoded = new LinkedHashMap<>();
        int width = 1;
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < z; j++) {
                int blk = cands[i][j];
                var enc = encoded.computeIfAbsent(blk, x -> ReaderInput.encodeBlock(tokenizer, blocks.get(x), settings.blockLen()));
                ReaderInput in = ReaderInput.build(questions.get(i), blk, enc, maxLen, settings.maxSpan(), settings.readerTitles(), tokenizer.sepId());
                inputs.add(in);
                ids.add(in.ids());
                types.add(in.types());
                width = Math.max(width, in.spans());
            }
        }
        Batches rb = Batches.pad(ids, types, tokenizer.padId());
        int len = rb.length(), h = model.reader.config.hiddenSize(), rows = b * z;
        Tensor hidden = model.reader.forward(rb.ids(), rb.types(), rb.mask(), rng).reshape((long) rows * len, h);
        int[] st = new int[rows * width], en = new int[rows * width];
        float[] pad = new float[rows * width];
        for (int r = 0; r < rows; r++) {
            ReaderInput in = inputs.get(r);
            for (int s = 0; s < width; s++) {
                int at = r * width + s;
                if (s < in.spans()) {
                    st[at] = r * len + in.spanStart()[s];
                    en[at] = r * len + in.spanEnd()[s];
                } else {
                    st[at] = en[at] = r * len; // an unused slot: scored, then masked out
                    // (a block without any span keeps one finite slot, which matches nothing: a row of -inf has no softmax)
                    pad[at] = in.spans() == 0 && s == 0 ? 0f : Float.NEGATIVE_INFINITY;
                }
            }
        }
        Tensor scores = spanHead.scores(hidden, Tensor.ofInts(st, st.length), Tensor.ofInts(en, en.length)).reshape(rows, width).add(Tensor.of(pad, rows, width));
        return new Reading(scores, inputs, width, rb.realTokens());
    }

    /** Answers questions (no graph, no dropout) from the dense retriever's top k. */
    public List<Prediction> predict(List<String> questions, int k) {
        try (var g = Autograd.noGrad()) {
            List<int[]> q = new ArrayList<>(questions.size());
            for (String s : questions) q.add(encodeQuestion(s));
            Tensor qv = queryVectors(q, null);
            int[][] cands = search(qv, k);
            return answerAll(questions, q, cands, priors(qv, cands));
        }
    }

    /** p(z|x) [b][z] of the dense retriever over given candidates (query vectors qv [b, dim], no graph wanted). */
    public double[][] priors(Tensor qv, int[][] cands) {
        float[] f = retrievalScores(qv, cands).toFloatArray();
        int z = cands[0].length;
        double[][] out = new double[cands.length][];
        for (int i = 0; i < cands.length; i++) out[i] = Softmax.of(f, i * z, z);
        return out;
    }

    /**
     * Answers questions from given candidate blocks with the given p(z|x) (null: uniform over them,
     * e.g. for BM25's blocks). The answer is the span text with the largest
     * sum_z p(z|x) sum_{s: text} p(s|z,x), texts compared after answer normalisation.
     */
    public List<Prediction> predict(List<String> questions, int[][] cands, double[][] prior) {
        try (var g = Autograd.noGrad()) {
            List<int[]> q = new ArrayList<>(questions.size());
            for (String s : questions) q.add(encodeQuestion(s));
            if (prior == null) {
                prior = new double[cands.length][];
                for (int i = 0; i < cands.length; i++) {
                    prior[i] = new double[cands[i].length];
                    java.util.Arrays.fill(prior[i], 1.0 / cands[i].length);
                }
            }
            return answerAll(questions, q, cands, prior);
        }
    }

    private List<Prediction> answerAll(List<String> questions, List<int[]> q, int[][] cands, double[][] prior) {
        List<Prediction> out = new ArrayList<>(questions.size());
        for (int i = 0; i < questions.size(); i++) {
            if (cands[i].length == 0) {
                out.add(new Prediction(questions.get(i), "", 0, List.of()));
                continue;
            }
            Reading r = read(List.of(q.get(i)), new int[][] {cands[i]}, null);
            out.add(answer(questions.get(i), cands[i], prior[i], r));
        }
        return out;
    }

    private Prediction answer(String question, int[] cands, double[] prior, Reading r) {
        float[] sc = r.scores().toFloatArray();
        int z = cands.length, w = r.width();
        Map<String, Double> mass = new LinkedHashMap<>();
        Map<String, String> surface = new LinkedHashMap<>();
        double[][] spanP = new double[z][];
        for (int j = 0; j < z; j++) {
            ReaderInput in = r.inputs().get(j);
            spanP[j] = Softmax.of(sc, j * w, in.spans());
            Block b = blocks.get(cands[j]);
            for (int s = 0; s < in.spans(); s++) {
                String text = in.spanText(b, s), key = AnswerNormalizer.normalize(text);
                if (key.isEmpty()) continue;
                double p = prior[j] * spanP[j][s];
                mass.merge(key, p, Double::sum);
                surface.merge(key, text, (old, nu) -> old); // first seen surface: from the best block, as blocks come best first
            }
        }
        String best = null;
        for (var e : mass.entrySet()) if (best == null || e.getValue() > mass.get(best)) best = e.getKey();
        List<Evidence> evidence = new ArrayList<>(z);
        for (int j = 0; j < z; j++) {
            ReaderInput in = r.inputs().get(j);
            Block b = blocks.get(cands[j]);
            int pick = -1;
            for (int s = 0; s < in.spans(); s++) {
                boolean isAnswer = best != null && AnswerNormalizer.normalize(in.spanText(b, s)).equals(best);
                if (isAnswer && (pick < 0 || spanP[j][s] > spanP[j][pick])) pick = s;
            }
            if (pick < 0) for (int s = 0; s < in.spans(); s++) if (pick < 0 || spanP[j][s] > spanP[j][pick]) pick = s;
            evidence.add(pick < 0 ? new Evidence(cands[j], b.title(), b.text(), prior[j], "", false, 0, 0, 0)
                    : new Evidence(cands[j], b.title(), b.text(), prior[j], in.spanText(b, pick), in.inTitle()[pick], in.charStart()[pick], in.charEnd()[pick],
                            spanP[j][pick]));
        }
        return best == null ? new Prediction(question, "", 0, evidence) : new Prediction(question, surface.get(best), mass.get(best), evidence);
    }

}
