package org.realmjava.trainer.finetune;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import org.realmjava.tensor.Ops;
import org.realmjava.tensor.Tensor;
import org.realmjava.tensor.optim.AdamW;
import org.realmjava.tensor.optim.LearningRateSchedule;
import org.realmjava.trainer.config.FinetuneConfig;
import org.realmjava.trainer.corpus.Block;
import org.realmjava.trainer.eval.AnswerMatcher;
import org.realmjava.trainer.eval.AnswerNormalizer;
import org.realmjava.trainer.pretrain.PretrainData;
import org.realmjava.trainer.qa.OpenQa;
import org.realmjava.trainer.qa.QaExample;
import org.realmjava.trainer.qa.ReaderInput;
import org.realmjava.trainer.train.GuardedUpdate;
import org.realmjava.trainer.train.MetricsLog;
import org.realmjava.trainer.train.Softmax;

/**
 * Open-QA fine-tuning, top to bottom. {@link #step} is one optimizer step:
 * <ol>
 * <li>embed the questions x with the query tower (trained);</li>
 * <li>take the top k blocks of the frozen index (the document tower is not trained, so its vectors
 *     stay exact) and score them, f(x, z) = scale * q . d_z, with the gradient reaching q;</li>
 * <li>read each (x, z) pair; the span head scores every span of up to max_span wordpieces;</li>
 * <li>loss = -log sum_z p(z|x) sum_{s matches} p(s|z,x), the spans matching a normalised gold
 *     answer (two nested marginals: {@link Ops#marginalLogLikelihood} over the spans of a block with
 *     0 / -inf as their log-likelihood, then over the blocks); a question none of whose blocks has a
 *     matching span adds no loss and is counted ({@code no_match});</li>
 * <li>backward, clip 1.0, AdamW with warm-up and linear decay over the query tower, its
 *     projection, the reader and the span head ({@link GuardedUpdate}).</li>
 * </ol>
 */
public final class Finetuner {
    /** The plots of a fine-tuning run. */
    public static final List<MetricsLog.Plot> PLOTS = List.of(new MetricsLog.Plot("loss.png", "Open-QA fine-tuning loss", "-log p(y|x)", "loss"),
            new MetricsLog.Plot("em.png", "Training-batch exact match", "exact match", "train_em"));

    final FinetuneConfig config;
    final OpenQa qa;
    final List<QaExample> train;
    final AdamW optimizer;
    final LearningRateSchedule schedule;
    final GuardedUpdate update = new GuardedUpdate();

    Finetuner(FinetuneConfig config, OpenQa qa, List<QaExample> train, Map<String, org.realmjava.tensor.Tensor> trainable) {
        this.config = config;
        this.qa = qa;
        this.train = train;
        this.optimizer = AdamW.bertDefaults(trainable).lrScale(name -> name.startsWith("span.") ? config.spanHeadLrScale() : 1.0);
        this.schedule = new LearningRateSchedule((float) config.training().lr(), config.training().warmup(), config.training().steps());
    }

    /** The i-th training question of the run: each epoch a permutation that depends only on (seed, epoch). */
    QaExample example(long i) {
        int n = train.size();
        long epoch = i / n;
        int[] perm = permutation(n, PretrainData.mix(config.training().seed() ^ 0x71615f6fL, epoch));
        return train.get(perm[(int) (i % n)]);
    }

    private long cachedEpochSeed = Long.MIN_VALUE;
    private int[] cachedPerm;

    private int[] permutation(int n, long seed) {
        if (seed != cachedEpochSeed) {
            cachedPerm = PretrainData.permutation(n, seed);
            cachedEpochSeed = seed;
        }
        return cachedPerm;
    }

    /** What one step measured (one metrics.jsonl line). */
    record Metrics(long step, double loss, double trainEm, double recall, int noMatch, double entropy, double tokensPerSecond, long tokens, long skipped,
                   double lr, double seconds, Map<String, Double> phase) {
        ObjectNode toJson() {
            ObjectNode n = MetricsLog.line(step);
            MetricsLog.put(n, "loss", loss);
            MetricsLog.put(n, "train_em", trainEm);
            MetricsLog.put(n, "recall_at_k", recall);
            n.put("no_match", noMatch);
            MetricsLog.put(n, "entropy", entropy);
            MetricsLog.put(n, "tokens_per_s", tokensPerSecond);
            n.put("tokens", tokens);
            n.put("skipped_steps", skipped);
            MetricsLog.put(n, "lr", lr);
            MetricsLog.put(n, "step_s", seconds);
            ObjectNode t = n.putObject("phase_s");
            phase.forEach((k, v) -> MetricsLog.put(t, k, v));
            return n;
        }

        String summary() {
            return String.format(Locale.ROOT, "loss %.4f em %.2f recall@k %.2f tok/s %.0f%s%s", loss, trainEm, recall, tokensPerSecond,
                    noMatch > 0 ? " no-match " + noMatch : "", skipped > 0 ? " skipped " + skipped : "");
        }
    }

    Metrics step(long s) {
        long t0 = System.nanoTime();
        Map<String, Double> phase = new LinkedHashMap<>();
        optimizer.zeroGrad();
        int accumulate = config.training().accumulate(), batch = config.training().batch();
        double loss = 0, em = 0, recall = 0, entropy = 0;
        long tokens = 0;
        int noMatch = 0, questions = 0, contributing = 0;
        boolean finite = true;
        for (int micro = 0; micro < accumulate && finite; micro++) {
            long first = (s * accumulate + micro) * batch;
            List<QaExample> examples = new ArrayList<>(batch);
            for (int i = 0; i < batch; i++) examples.add(example(first + i));
            SplittableRandom dropout = new SplittableRandom(PretrainData.mix(config.training().seed() ^ 0x64726f70L, s * accumulate + micro));
            Forward f = forward(examples, dropout, phase);
            questions += examples.size();
            noMatch += f.noMatch();
            em += f.emHits();
            recall += f.recallHits();
            entropy += f.entropySum();
            tokens += f.tokens();
            if (f.loss() == null) continue; // no question of this micro-batch had a matching span
            float value = f.loss().item();
            if (!Float.isFinite(value)) {
                finite = false;
                break;
            }
            long tb = System.nanoTime();
            f.loss().scale(1f / accumulate).backward();
            add(phase, "backward", tb);
            loss += value * f.contributing();
            contributing += f.contributing();
        }
        long to = System.nanoTime();
        float lr = schedule.at(s);
        // a step where no question matched has no gradient: nothing to apply, and not a failure either
        boolean applied = false;
        if (contributing == 0 && finite) optimizer.zeroGrad();
        else applied = update.apply(optimizer, finite, lr);
        double stepLoss = applied ? loss / contributing : Double.NaN;
        add(phase, "optimizer", to);
        double seconds = (System.nanoTime() - t0) / 1e9;
        return new Metrics(s, stepLoss, em / questions, recall / questions, noMatch, entropy / questions, tokens / seconds, tokens, update.skipped, lr,
                seconds, phase);
    }

    private static void add(Map<String, Double> phase, String name, long since) {
        phase.merge(name, (System.nanoTime() - since) / 1e9, Double::sum);
    }

    /** A micro-batch's forward pass: the mean loss over its contributing questions (null when none), and metric sums. */
    record Forward(Tensor loss, int contributing, int noMatch, double emHits, double recallHits, double entropySum, long tokens) {}

    Forward forward(List<QaExample> examples, SplittableRandom rng, Map<String, Double> phase) {
        int b = examples.size();
        // 1-2. questions through the query tower, the top k of the frozen index, fresh scores f [b, z]
        long t = System.nanoTime();
        List<int[]> questions = new ArrayList<>(b);
        for (QaExample e : examples) questions.add(qa.encodeQuestion(e.question()));
        Tensor q = qa.queryVectors(questions, rng);
        int[][] cands = qa.search(q, config.k());
        Tensor f = qa.retrievalScores(q, cands);
        long tokens = 0;
        for (int[] x : questions) tokens += x.length;
        add(phase, "query", t);

        // 3. the spans of every candidate that match a gold answer, decided from text before reading
        t = System.nanoTime();
        int z = cands[0].length;
        List<AnswerMatcher> matchers = new ArrayList<>(b);
        for (QaExample e : examples) matchers.add(AnswerMatcher.of(e));
        OpenQa.Reading r = qa.read(questions, cands, rng);
        tokens += r.tokens();
        add(phase, "reader", t);

        t = System.nanoTime();
        int w = r.width();
        float[] matchLl = new float[b * z * w];
        java.util.Arrays.fill(matchLl, Float.NEGATIVE_INFINITY);
        boolean[] any = new boolean[b];
        double recallHits = 0;
        for (int i = 0; i < b; i++) {
            boolean inTopK = false;
            for (int j = 0; j < z; j++) {
                ReaderInput in = r.inputs().get(i * z + j);
                Block blk = qa.blocks.get(cands[i][j]);
                for (int s = 0; s < in.spans(); s++) {
                    String text = in.spanText(blk, s);
                    if (matchers.get(i).span(text, AnswerNormalizer.normalize(text))) {
                        matchLl[(i * z + j) * w + s] = 0f;
                        any[i] = true;
                        inTopK = true;
                    }
                }
            }
            if (inTopK) recallHits++;
        }
        // metrics from values: p(z|x) entropy, and whether the argmax of p(z|x) p(s|z,x) is a gold span
        float[] fv = f.detach().toFloatArray(), sv = r.scores().detach().toFloatArray();
        double entropy = 0, em = 0;
        for (int i = 0; i < b; i++) {
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
                        answer = in.spanText(qa.blocks.get(cands[i][j]), s);
                    }
                }
            }
            if (matchers.get(i).exact(answer)) em++;
        }
        int contributing = 0, noMatch = 0;
        for (boolean a : any) if (a) contributing++;
        noMatch = b - contributing;
        if (contributing == 0) {
            add(phase, "loss", t);
            return new Forward(null, 0, noMatch, em, recallHits, entropy, tokens);
        }
        // 4. the nested marginal over the questions with some matching span
        int[] keep = new int[contributing], keepRows = new int[contributing * z];
        for (int i = 0, c = 0; i < b; i++) {
            if (!any[i]) continue;
            for (int j = 0; j < z; j++) keepRows[c * z + j] = i * z + j;
            keep[c++] = i;
        }
        Tensor rowsKept = Tensor.ofInts(keepRows, keepRows.length);
        float[] llKept = new float[contributing * z * w];
        for (int c = 0; c < keepRows.length; c++) System.arraycopy(matchLl, keepRows[c] * w, llKept, c * w, w);
        Tensor spanScores = Ops.indexSelect(r.scores(), 0, rowsKept);
        Tensor perBlock = Ops.marginalLogLikelihood(spanScores, Tensor.of(llKept, contributing * z, w, 1), null); // log sum_{s matches} p(s|z,x): [c*z, 1]
        Tensor fk = Ops.indexSelect(f, 0, Tensor.ofInts(keep, keep.length));
        Tensor logp = Ops.marginalLogLikelihood(fk, perBlock.reshape(contributing, z, 1), null); // [c, 1]
        Tensor loss = logp.sum().scale(-1f / contributing);
        add(phase, "loss", t);
        return new Forward(loss, contributing, noMatch, em, recallHits, entropy, tokens);
    }

}
