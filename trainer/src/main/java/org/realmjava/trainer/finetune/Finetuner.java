package org.realmjava.trainer.finetune;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import org.realmjava.tensor.Ops;
import org.realmjava.tensor.Tensor;
import org.realmjava.tensor.optim.AdamW;
import org.realmjava.trainer.config.FinetuneConfig;
import org.realmjava.trainer.eval.AnswerMatcher;
import org.realmjava.trainer.eval.AnswerNormalizer;
import org.realmjava.trainer.qa.OpenQa;
import org.realmjava.trainer.qa.QaCheckpoint;
import org.realmjava.trainer.qa.QaExample;
import org.realmjava.trainer.qa.ReaderInput;
import org.realmjava.trainer.train.MetricsLog;
import org.realmjava.trainer.train.Objective;
import org.realmjava.trainer.train.PhaseTimes;
import org.realmjava.trainer.train.Seeds;
import org.realmjava.trainer.train.Softmax;
import org.realmjava.trainer.train.TrainingLoop;

/**
 * Open-QA fine-tuning, top to bottom: the objective the {@link TrainingLoop} runs. {@link #forward}
 * is one micro-batch of questions x:
 * <ol>
 * <li>{@link #retrieve}: x through the query tower (trained), the top k blocks of the frozen index
 *     (the document tower is not trained, so its vectors stay exact), and their scores
 *     f(x, z) = scale * q . d_z with the gradient reaching q;</li>
 * <li>{@link OpenQa#read}: each (x, z) pair through the reader; the span head scores every span of
 *     up to max_span wordpieces;</li>
 * <li>{@link #goldSpans}: the spans that match a normalised gold answer, decided from the text;</li>
 * <li>{@link #metrics}: training exact match (argmax of p(z|x) p(s|z,x)), recall@k, entropy;</li>
 * <li>{@link #nestedMarginalLoss}: -log sum_z p(z|x) sum_{s matches} p(s|z,x), two nested
 *     marginals ({@link Ops#marginalLogLikelihood} over the spans of a block with 0 / -inf as their
 *     log-likelihood, then over the blocks); a question none of whose blocks has a matching span
 *     adds no loss and is counted ({@code no_match}).</li>
 * </ol>
 * The loop trains the query tower, its projection, the reader and the span head. Setup, the frozen
 * index and checkpoints: {@link FinetuneRun}.
 */
public final class Finetuner implements Objective<Finetuner.Sums> {
    final FinetuneConfig config;
    final OpenQa qa;
    final List<QaExample> train;
    final AdamW optimizer;
    /** The frozen index's vectors (saved with every checkpoint). */
    private final float[] vectors;
    private final Seeds.EpochOrder order;

    Finetuner(FinetuneConfig config, OpenQa qa, List<QaExample> train, Map<String, Tensor> trainable, float[] vectors) {
        this.config = config;
        this.qa = qa;
        this.train = train;
        this.vectors = vectors;
        this.optimizer = AdamW.bertDefaults(trainable).lrScale(name -> name.startsWith("span.") ? config.spanHeadLrScale() : 1.0);
        this.order = new Seeds.EpochOrder(train.size(), config.training().seed(), Seeds.Stream.QA_ORDER);
    }

    // ---- the objective's part of the loop

    @Override
    public String kind() {
        return "finetune";
    }

    @Override
    public AdamW optimizer() {
        return optimizer;
    }

    /** The i-th training question of the run: each epoch a permutation that depends only on (seed, epoch). */
    QaExample example(long i) {
        return train.get(order.at(i));
    }

    @Override
    public Micro<Sums> forward(long s, int micro, SplittableRandom dropout, PhaseTimes phases) {
        int batch = config.training().batch();
        long first = (s * config.training().accumulate() + micro) * batch;
        List<QaExample> examples = new ArrayList<>(batch);
        for (int i = 0; i < batch; i++) examples.add(example(first + i));
        Forward f = forward(examples, dropout, phases);
        return new Micro<>(f.loss(), f.sums().contributing(), f.sums());
    }

    /**
     * Metric sums of micro-batches.
     *
     * @param contributing questions with a matching span in one of their top k blocks: they make the
     *     loss, and they are the recall@k hits
     * @param emHits questions whose argmax span of p(z|x) p(s|z,x) is a gold answer
     */
    public record Sums(int questions, int contributing, double emHits, double entropySum, long tokens)
            implements Objective.Sums<Sums> {
        @Override
        public Sums plus(Sums o) {
            return new Sums(questions + o.questions, contributing + o.contributing, emHits + o.emHits, entropySum + o.entropySum, tokens + o.tokens);
        }

        int noMatch() {
            return questions - contributing;
        }
    }

    @Override
    public void describe(Sums m, ObjectNode line) {
        MetricsLog.put(line, "train_em", m.emHits() / m.questions());
        MetricsLog.put(line, "recall_at_k", (double) m.contributing() / m.questions());
        line.put("no_match", m.noMatch());
        MetricsLog.put(line, "entropy", m.entropySum() / m.questions());
    }

    @Override
    public String summary(Sums m) {
        return String.format(Locale.ROOT, "em %.2f recall@k %.2f%s", m.emHits() / m.questions(), (double) m.contributing() / m.questions(),
                m.noMatch() > 0 ? " no-match " + m.noMatch() : "");
    }

    @Override
    public List<MetricsLog.Plot> plots() {
        return List.of(new MetricsLog.Plot("loss.png", "Open-QA fine-tuning loss", "-log p(y|x)", "loss"),
                new MetricsLog.Plot("em.png", "Training-batch exact match", "exact match", "train_em"));
    }

    /** The Open-QA files (settings, span head, blocks, the frozen index) beside the loop's. */
    @Override
    public void save(Path checkpoint, ObjectNode extra) throws IOException {
        QaCheckpoint.write(checkpoint, qa.settings, qa.spanHead, qa.blocks, vectors, qa.model.spec.projectionDim());
    }

    // ---- the forward pass, step by step

    /** A micro-batch's forward pass: the mean loss over its contributing questions (null when none), and its metric sums. */
    record Forward(Tensor loss, Sums sums) {}

    Forward forward(List<QaExample> examples, SplittableRandom rng, PhaseTimes phases) {
        long t = PhaseTimes.now();
        Retrieval ret = retrieve(examples, rng);
        phases.add("query", t);

        t = PhaseTimes.now();
        OpenQa.Reading r = qa.read(ret.questions(), ret.candidates(), rng);
        phases.add("reader", t);

        t = PhaseTimes.now();
        GoldSpans gold = goldSpans(examples, ret.candidates(), r);
        Sums sums = metrics(examples, ret, r, gold, ret.tokens() + r.tokens());
        Tensor loss = sums.contributing() == 0 ? null : nestedMarginalLoss(ret.scores(), r, gold);
        phases.add("loss", t);
        return new Forward(loss, sums);
    }

    /** 1. The questions' wordpieces, their top-k blocks and scores f [b, k], and the wordpieces read. */
    record Retrieval(List<int[]> questions, int[][] candidates, Tensor scores, long tokens) {}

    Retrieval retrieve(List<QaExample> examples, SplittableRandom rng) {
        List<int[]> questions = new ArrayList<>(examples.size());
        long tokens = 0;
        for (QaExample e : examples) {
            int[] x = qa.encodeQuestion(e.question());
            questions.add(x);
            tokens += x.length;
        }
        Tensor q = qa.queryVectors(questions, rng);
        int[][] cands = qa.search(q, config.k());
        return new Retrieval(questions, cands, qa.retrievalScores(q, cands), tokens);
    }

    /**
     * 3. Which spans match a gold answer: their log-likelihood target [b * z * w] (0 for a match,
     * -inf otherwise), whether each question has any, and each question's answer matcher.
     */
    record GoldSpans(float[] logLikelihoods, boolean[] answerable, List<AnswerMatcher> answers) {}

    GoldSpans goldSpans(List<QaExample> examples, int[][] cands, OpenQa.Reading r) {
        int b = examples.size(), z = cands[0].length, w = r.width();
        List<AnswerMatcher> matchers = new ArrayList<>(b);
        for (QaExample e : examples) matchers.add(AnswerMatcher.of(e));
        float[] ll = new float[b * z * w];
        Arrays.fill(ll, Float.NEGATIVE_INFINITY);
        boolean[] any = new boolean[b];
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < z; j++) {
                ReaderInput in = r.inputs().get(i * z + j);
                var blk = qa.blocks.get(cands[i][j]);
                for (int s = 0; s < in.spans(); s++) {
                    String text = in.spanText(blk, s);
                    if (matchers.get(i).span(text, AnswerNormalizer.normalize(text))) {
                        ll[(i * z + j) * w + s] = 0f;
                        any[i] = true;
                    }
                }
            }
        }
        return new GoldSpans(ll, any, matchers);
    }

    /** 4. The metric sums from values: p(z|x) entropy, and whether the argmax of p(z|x) p(s|z,x) is a gold span. */
    Sums metrics(List<QaExample> examples, Retrieval ret, OpenQa.Reading r, GoldSpans gold, long tokens) {
        int b = examples.size(), z = ret.candidates()[0].length, w = r.width(), contributing = 0;
        float[] fv = ret.scores().detach().toFloatArray(), sv = r.scores().detach().toFloatArray();
        double entropy = 0, em = 0;
        for (int i = 0; i < b; i++) {
            if (gold.answerable()[i]) contributing++;
            double[] prior = Softmax.of(fv, i * z, z);
            for (double p : prior) if (p > 0) entropy -= p * Math.log(p);
            double best = Double.NEGATIVE_INFINITY;
            String answer = "";
            for (int j = 0; j < z; j++) {
                ReaderInput in = r.inputs().get(i * z + j);
                double[] ps = Softmax.of(sv, (i * z + j) * w, in.spans());
                for (int s = 0; s < in.spans(); s++) {
                    double v = prior[j] * ps[s];
                    if (v > best) {
                        best = v;
                        answer = in.spanText(qa.blocks.get(ret.candidates()[i][j]), s);
                    }
                }
            }
            if (gold.answers().get(i).exact(answer)) em++;
        }
        return new Sums(b, contributing, em, entropy, tokens);
    }

    /** 5. The nested marginal over the questions with some matching span: the mean of -log sum_z p(z|x) sum_{s matches} p(s|z,x). */
    Tensor nestedMarginalLoss(Tensor f, OpenQa.Reading r, GoldSpans gold) {
        boolean[] any = gold.answerable();
        int b = any.length, z = (int) f.size(1), w = r.width(), contributing = 0;
        for (boolean a : any) if (a) contributing++;
        int[] keep = new int[contributing], keepRows = new int[contributing * z];
        for (int i = 0, c = 0; i < b; i++) {
            if (!any[i]) continue;
            for (int j = 0; j < z; j++) keepRows[c * z + j] = i * z + j;
            keep[c++] = i;
        }
        float[] llKept = new float[contributing * z * w];
        for (int c = 0; c < keepRows.length; c++) System.arraycopy(gold.logLikelihoods(), keepRows[c] * w, llKept, c * w, w);
        Tensor spanScores = Ops.indexSelect(r.scores(), 0, Tensor.ofInts(keepRows, keepRows.length));
        Tensor perBlock = Ops.marginalLogLikelihood(spanScores, Tensor.of(llKept, contributing * z, w, 1), null); // log sum_{s matches} p(s|z,x): [c*z, 1]
        Tensor fk = Ops.indexSelect(f, 0, Tensor.ofInts(keep, keep.length));
        Tensor logp = Ops.marginalLogLikelihood(fk, perBlock.reshape(contributing, z, 1), null); // [c, 1]
        return logp.sum().scale(-1f / contributing);
    }
}
