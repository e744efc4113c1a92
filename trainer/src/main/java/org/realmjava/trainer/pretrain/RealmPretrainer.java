package org.realmjava.trainer.pretrain;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.realmjava.mips.FloatMatrix;
import org.realmjava.mips.SearchOptions;
import org.realmjava.mips.SearchResult;
import org.realmjava.tensor.Autograd;
import org.realmjava.tensor.Ops;
import org.realmjava.tensor.Tensor;
import org.realmjava.tensor.optim.AdamW;
import org.realmjava.tensor.optim.LearningRateSchedule;
import org.realmjava.tensor.parallel.Parallel;
import org.realmjava.trainer.config.PretrainConfig;
import org.realmjava.trainer.corpus.Block;
import org.realmjava.trainer.corpus.MaskedQuery;
import org.realmjava.trainer.model.RealmModel;
import org.realmjava.trainer.retrieval.Batches;
import org.realmjava.trainer.retrieval.BlockInputs;
import org.realmjava.trainer.retrieval.IndexRefresher;
import org.realmjava.transformer.tokenizer.WordPieceTokenizer;
import org.realmjava.trainer.train.Softmax;

/**
 * REALM pre-training, top to bottom. {@link #step} is one optimizer step:
 * <ol>
 * <li>embed the masked queries x with the query tower;</li>
 * <li>take the top k blocks of the live (stale) index by inner product, never the block x came
 *     from (matched by hash), and append the null document;</li>
 * <li>re-embed those candidates with the current document tower, so p(z|x) = softmax f(x, z) and its
 *     gradient are fresh (the index only chooses candidates);</li>
 * <li>read every (x, z) pair with the knowledge-augmented encoder: the MLM log-likelihood of each
 *     masked target, logits made only for the masked rows;</li>
 * <li>loss = -log sum_z p(z|x) p(y|z,x) (per masked token by default, over the whole set by option);</li>
 * <li>backward (reaching reader, query tower and document tower), global-norm clip 1.0, AdamW with
 *     warm-up and linear decay; a non-finite loss or gradient skips the update ({@link GuardedUpdate}).</li>
 * </ol>
 * Between steps the {@link IndexRefresher} re-embeds the corpus in the background with a snapshot of
 * the document tower ({@link #refreshSchedule}). Setup, resume and checkpoints: {@link PretrainRun}.
 */
public final class RealmPretrainer {
    /** Extra hits searched beyond k + 1, so that duplicates of the query's own block can be dropped. */
    static final int EXTRA_HITS = 4;

    final PretrainConfig config;
    final RealmModel model;
    final WordPieceTokenizer tokenizer;
    final List<Block> blocks;
    final BlockInputs blockInputs;
    final PretrainData data;
    final IndexRefresher refresher;
    final AdamW optimizer;
    final LearningRateSchedule schedule;
    final int padId, sepId, clsId;
    final org.realmjava.trainer.train.GuardedUpdate update = new org.realmjava.trainer.train.GuardedUpdate();
    /** Candidates, scores [b, z] and reader log-likelihoods [b, z, T] of the last forward pass (for {@link #explain}). */
    private int[][] lastCandidates;
    private float[] lastScores, lastLogLikelihoods;

    RealmPretrainer(PretrainConfig config, RealmModel model, WordPieceTokenizer tokenizer, List<Block> blocks, BlockInputs blockInputs, PretrainData data,
                    IndexRefresher refresher) {
        this.config = config;
        this.model = model;
        this.tokenizer = tokenizer;
        this.blocks = blocks;
        this.blockInputs = blockInputs;
        this.data = data;
        this.refresher = refresher;
        var retriever = model.retrieverParameters().keySet();
        this.optimizer = AdamW.bertDefaults(model.namedParameters()).lrScale(name -> retriever.contains(name) ? config.retrieverLrScale() : 1.0);
        this.schedule = new LearningRateSchedule((float) config.lr(), config.warmup(), config.steps());
        this.padId = tokenizer.padId();
        this.sepId = tokenizer.sepId();
        this.clsId = tokenizer.clsId();
    }

    /** One micro-batch's forward pass: the loss and what the metrics need. */
    record Forward(Tensor loss, int queries, int maskedTokens, long tokens, double accuracyHits, double utilitySum, double entropySum, double logLikelihoodSum) {}

    /** The queries of micro-batch micro of step s. */
    List<MaskedQuery> batch(long s, int micro) {
        List<MaskedQuery> out = new ArrayList<>(config.batch());
        long first = (s * config.accumulate() + micro) * config.batch();
        for (int i = 0; i < config.batch(); i++) out.add(data.query(first + i));
        return out;
    }

    StepMetrics step(long s, double indexWait, double refreshSeconds) {
        long t0 = System.nanoTime();
        Map<String, Double> phase = new LinkedHashMap<>();
        optimizer.zeroGrad();
        double loss = 0, hits = 0, utility = 0, entropy = 0;
        long tokens = 0;
        int queries = 0, masked = 0;
        boolean finite = true;
        for (int micro = 0; micro < config.accumulate() && finite; micro++) {
            SplittableRandom dropout = new SplittableRandom(PretrainData.mix(config.seed() ^ 0x64726f70L, s * config.accumulate() + micro));
            Forward f = forward(batch(s, micro), dropout, phase, true);
            float value = f.loss().item();
            if (!Float.isFinite(value)) {
                finite = false;
                break;
            }
            long tb = System.nanoTime();
            f.loss().scale(1f / config.accumulate()).backward();
            add(phase, "backward", tb);
            loss += value / config.accumulate();
            hits += f.accuracyHits();
            utility += f.utilitySum();
            entropy += f.entropySum();
            tokens += f.tokens();
            queries += f.queries();
            masked += f.maskedTokens();
        }
        long to = System.nanoTime();
        float lr = schedule.at(s);
        if (!update.apply(optimizer, finite, lr)) loss = Double.NaN;
        add(phase, "optimizer", to);
        double seconds = (System.nanoTime() - t0) / 1e9;
        long staleness = s - refresher.liveGeneration().snapshotStep();
        return new StepMetrics(s, loss, masked == 0 ? Double.NaN : hits / masked, utility / Math.max(1, queries), entropy / Math.max(1, queries),
                staleness, refresher.generationNumber(), (tokens) / seconds, tokens, update.skipped, lr, seconds + indexWait, refreshSeconds, indexWait, phase);
    }

    private static void add(Map<String, Double> phase, String name, long since) {
        phase.merge(name, (System.nanoTime() - since) / 1e9, Double::sum);
    }

    /**
     * The REALM forward pass over a batch of masked queries. rng null: no dropout (evaluation).
     * Returns the mean negative marginal log-likelihood and the batch's metric sums.
     */
    Forward forward(List<MaskedQuery> batch, SplittableRandom rng, Map<String, Double> phase, boolean training) {
        int b = batch.size();
        long tokens = 0;
        // 1. the masked queries through the query tower: q [b, dim]
        long t = System.nanoTime();
        List<int[]> qIds = new ArrayList<>(b), qTypes = new ArrayList<>(b);
        for (MaskedQuery q : batch) {
            qIds.add(q.ids());
            qTypes.add(new int[q.ids().length]);
        }
        Batches qb = Batches.pad(qIds, qTypes, padId);
        Tensor q = null;
        if (config.retrieval()) {
            q = model.embedQueries(qb.ids(), qb.types(), qb.mask(), rng);
            tokens += qb.realTokens();
        }
        add(phase, "query", t);

        // 2. candidates: top-k of the stale index without the query's own block, then the null document
        t = System.nanoTime();
        int[][] cands = config.retrieval() ? candidates(q, batch) : nullOnly(b);
        int z = cands[0].length;
        add(phase, "search", t);

        // 3. fresh retrieval scores f [b, z] from the current document tower (gradient reaches it).
        // The null documents ([CLS] [SEP] [SEP]) go through in a batch of their own, here and in the
        // reader: padded beside 128-wordpiece blocks they cost as much as a block (1/9 of the work at k = 8)
        t = System.nanoTime();
        int kk = z - 1;
        Tensor f;
        if (config.retrieval()) {
            List<int[]> dIds = new ArrayList<>(b * kk), dTypes = new ArrayList<>(b * kk), nIds = new ArrayList<>(b), nTypes = new ArrayList<>(b);
            float[] missing = new float[b * z];
            boolean anyMissing = false;
            for (int i = 0; i < b; i++) {
                for (int j = 0; j < kk; j++) {
                    int blk = cands[i][j];
                    int[] ids = blockInputs.ids(blk == MISSING ? BlockInputs.NULL_DOCUMENT : blk);
                    dIds.add(ids);
                    dTypes.add(BlockInputs.typeIds(ids, sepId));
                    if (blk == MISSING) {
                        missing[i * z + j] = Float.NEGATIVE_INFINITY;
                        anyMissing = true;
                    }
                }
                int[] nul = blockInputs.ids(BlockInputs.NULL_DOCUMENT);
                nIds.add(nul);
                nTypes.add(BlockInputs.typeIds(nul, sepId));
            }
            Batches db = Batches.pad(dIds, dTypes, padId), nb = Batches.pad(nIds, nTypes, padId);
            tokens += db.realTokens() + nb.realTokens();
            int dim = model.spec.projectionDim();
            Tensor d = Ops.concat(List.of(model.embedDocuments(db.ids(), db.types(), db.mask(), rng).reshape(b, kk, dim),
                    model.embedDocuments(nb.ids(), nb.types(), nb.mask(), rng).reshape(b, 1, dim)), 1);
            f = q.unsqueeze(1).mul(d).sum(2, false).scale(model.spec.scoreScale());
            // fewer than k blocks left after dropping duplicates: the empty slots get p(z|x) = 0
            if (anyMissing) f = f.add(Tensor.of(missing, b, z));
        } else {
            f = Tensor.zeros(b, 1);
        }
        add(phase, "documents", t);

        // 4. read each (x, z): log p(y_t | z, x) for the masked targets, ll [b, z, T]; logits only for the masked rows
        t = System.nanoTime();
        int maxT = 0;
        for (MaskedQuery mq : batch) maxT = Math.max(maxT, mq.masked());
        float[] tokenMask = new float[b * maxT];
        for (int i = 0; i < b; i++) for (int k = 0; k < batch.get(i).masked(); k++) tokenMask[i * maxT + k] = 1f;
        Read retrieved = kk == 0 ? null : read(batch, cands, 0, kk, maxT, rng);
        Read nul = read(batch, cands, kk, 1, maxT, rng);
        tokens += nul.tokens() + (retrieved == null ? 0 : retrieved.tokens());
        Tensor ll = retrieved == null ? nul.ll() : Ops.concat(List.of(retrieved.ll(), nul.ll()), 1);
        add(phase, "reader", t);

        // 5. the marginal likelihood over the candidates
        t = System.nanoTime();
        Tensor mask = Tensor.of(tokenMask, b, maxT);
        int maskedTokens = 0;
        for (MaskedQuery mq : batch) maskedTokens += mq.masked();
        Tensor logp, loss;
        if (config.perToken()) {
            logp = Ops.marginalLogLikelihood(f, ll, mask);
            loss = logp.sum().scale(-1f / maskedTokens);
        } else {
            logp = Ops.marginalLogLikelihood(f, ll.mul(mask.unsqueeze(1)).sum(2, true), null);
            loss = logp.sum().scale(-1f / b);
        }
        Tensor logits;
        try (var g = Autograd.noGrad()) {
            long vocab = nul.logits().size(1);
            logits = retrieved == null ? nul.logits() : Ops.concat(List.of(retrieved.logits().reshape(b, kk, maxT, vocab),
                    nul.logits().reshape(b, 1, maxT, vocab)), 1).reshape((long) b * z * maxT, vocab);
        }
        double[] m = metrics(f, ll, logits, batch, z, maxT);
        lastCandidates = cands;
        lastScores = f.detach().toFloatArray();
        lastLogLikelihoods = ll.detach().toFloatArray();
        add(phase, "loss", t);
        return new Forward(loss, b, maskedTokens, tokens, m[0], m[1], m[2], logp.detach().sum().item());
    }

    /** One query's candidates, their p(z|x), and per candidate (log p(y|z,x) - log p(y|null,x)) per masked token. */
    record Explained(int[] blocks, double[] prior, double[] utility) {}

    /** The retrieval of one query explained (no dropout, no graph). */
    Explained explain(MaskedQuery q) {
        try (var g = Autograd.noGrad()) {
            forward(List.of(q), null, new LinkedHashMap<>(), false);
            int[] cands = lastCandidates[0];
            float[] fv = lastScores, lv = lastLogLikelihoods;
            int z = cands.length, t = q.masked();
            double[] prior = new double[z], util = new double[z];
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (float v : fv) max = Math.max(max, v);
            for (int j = 0; j < z; j++) sum += prior[j] = Math.exp(fv[j] - max);
            for (int j = 0; j < z; j++) {
                prior[j] /= sum;
                double u = 0;
                for (int k = 0; k < t; k++) u += lv[j * t + k] - lv[(z - 1) * t + k];
                util[j] = u / t;
            }
            return new Explained(cands, prior, util);
        }
    }

    /** The reader's output for candidate columns [from, from + n) of every query: ll [b, n, T], logits [b * n * T, vocab], tokens read. */
    record Read(Tensor ll, Tensor logits, long tokens) {}

    /** Reads [CLS] x [SEP] z [SEP] for the candidates in columns [from, from + n) of cands, as one batch. */
    private Read read(List<MaskedQuery> batch, int[][] cands, int from, int n, int maxT, SplittableRandom rng) {
        int b = batch.size(), maxLen = model.reader.config.maxPositions();
        List<int[]> rIds = new ArrayList<>(b * n), rTypes = new ArrayList<>(b * n);
        for (int i = 0; i < b; i++) {
            for (int j = from; j < from + n; j++) {
                int blk = cands[i][j];
                int[][] seq = readerInput(batch.get(i).ids(), blockInputs.ids(blk < 0 ? BlockInputs.NULL_DOCUMENT : blk), maxLen);
                rIds.add(seq[0]);
                rTypes.add(seq[1]);
            }
        }
        Batches rb = Batches.pad(rIds, rTypes, padId);
        int len = rb.length(), h = model.reader.config.hiddenSize();
        Tensor hidden = model.reader.forward(rb.ids(), rb.types(), rb.mask(), rng).reshape((long) b * n * len, h);
        int[] rows = new int[b * n * maxT], targets = new int[b * n * maxT];
        for (int i = 0; i < b; i++) {
            MaskedQuery mq = batch.get(i);
            for (int j = 0; j < n; j++) {
                for (int k = 0; k < maxT; k++) {
                    int at = (i * n + j) * maxT + k;
                    boolean real = k < mq.masked();
                    rows[at] = (i * n + j) * len + (real ? mq.positions()[k] : 0);
                    targets[at] = real ? mq.targets()[k] : 0;
                }
            }
        }
        Tensor logits = model.mlm.logits(Ops.indexSelect(hidden, 0, Tensor.ofInts(rows, rows.length)));
        Tensor ll = Ops.targetLogProb(logits, Tensor.ofInts(targets, targets.length)).reshape(b, n, maxT);
        return new Read(ll, logits, rb.realTokens());
    }

    /** Marks an empty candidate slot (fewer blocks than k after dropping the query's own). */
    static final int MISSING = -2;

    /** Candidate blocks per query: k retrieved (own block and its duplicates dropped), then the null document. */
    int[][] candidates(Tensor q, List<MaskedQuery> batch) {
        int b = batch.size(), k = config.k(), dim = model.spec.projectionDim();
        float[] qv = q.detach().toFloatArray();
        long[] exclude = new long[b];
        for (int i = 0; i < b; i++) exclude[i] = batch.get(i).block();
        int want = (int) Math.min(k + EXTRA_HITS, blocks.size() - 1);
        SearchResult r = refresher.index().search(new FloatMatrix(qv, b, dim), want, new SearchOptions(exclude, null));
        int[][] out = new int[b][k + 1];
        for (int i = 0; i < b; i++) {
            long own = blocks.get(batch.get(i).block()).hash();
            int n = 0;
            for (int rank = 0; rank < r.count(i) && n < k; rank++) {
                int blk = (int) r.id(i, rank);
                if (blocks.get(blk).hash() != own) out[i][n++] = blk;
            }
            while (n < k) out[i][n++] = MISSING;
            out[i][k] = BlockInputs.NULL_DOCUMENT;
        }
        return out;
    }

    private static int[][] nullOnly(int b) {
        int[][] out = new int[b][1];
        for (int[] o : out) o[0] = BlockInputs.NULL_DOCUMENT;
        return out;
    }

    /** [CLS] x [SEP] title [SEP] body [SEP] (ids, types): the block's document-tower ids after its [CLS], cut to maxLen. */
    int[][] readerInput(int[] query, int[] blockIds, int maxLen) {
        int n = Math.min(maxLen, query.length + blockIds.length - 1);
        int[] ids = new int[n], types = new int[n];
        System.arraycopy(query, 0, ids, 0, Math.min(n, query.length));
        for (int i = query.length; i < n; i++) {
            ids[i] = blockIds[i - query.length + 1];
            types[i] = 1;
        }
        if (n == maxLen && n > query.length) ids[n - 1] = sepId;
        return new int[][] {ids, types};
    }

    /**
     * {accuracy hits, utility sum, entropy sum} of a batch, from the values (no graph): the
     * prediction for a masked token is argmax_v sum_z p(z|x) softmax(logits)_v.
     */
    double[] metrics(Tensor f, Tensor ll, Tensor logits, List<MaskedQuery> batch, int z, int maxT) {
        int b = batch.size();
        float[] fv = f.detach().toFloatArray(), lv = ll.detach().toFloatArray(), lg = logits.detach().toFloatArray();
        int vocab = (int) logits.size(1);
        double hits = 0, utility = 0, entropy = 0;
        double[] mix = new double[vocab];
        for (int i = 0; i < b; i++) {
            double[] prior = Softmax.of(fv, i * z, z);
            for (double p : prior) if (p > 0) entropy -= p * Math.log(p);
            MaskedQuery mq = batch.get(i);
            if (config.retrieval() && z > 1) {
                int top = 0;
                for (int j = 1; j < z - 1; j++) if (fv[i * z + j] > fv[i * z + top]) top = j;
                double u = 0;
                for (int k = 0; k < mq.masked(); k++) u += lv[(i * z + top) * maxT + k] - lv[(i * z + z - 1) * maxT + k];
                utility += u / mq.masked();
            }
            for (int k = 0; k < mq.masked(); k++) {
                java.util.Arrays.fill(mix, 0);
                for (int j = 0; j < z; j++) {
                    if (prior[j] == 0) continue;
                    int row = ((i * z + j) * maxT + k) * vocab;
                    double[] p = Softmax.of(lg, row, vocab);
                    for (int v = 0; v < vocab; v++) mix[v] += prior[j] * p[v];
                }
                int best = 0;
                for (int v = 1; v < vocab; v++) if (mix[v] > mix[best]) best = v;
                if (best == mq.targets()[k]) hits++;
            }
        }
        return new double[] {hits, utility, entropy};
    }

    /**
     * The refresh schedule, run before step s. refresh_every N > 0: at s = N, 2N, ... the refresh
     * started N steps earlier (if any) is made live, then a new one starts from the current
     * document tower (unless it could not be made live before the run's last step), so which
     * index a step sees depends only on s (reproducible; a resumed run matches). N = 0: a new refresh starts as soon as the previous one is live, and a finished one
     * is made live at the next step boundary (fresher, not reproducible). Returns {waited, refresh
     * seconds of the generation made live or NaN}.
     */
    double[] refreshSchedule(long s) {
        int every = config.refreshEvery();
        double waited = 0, made = Double.NaN;
        if (every > 0) {
            if (s > 0 && s % every == 0) {
                if (refresher.hasPending()) {
                    long t = System.nanoTime();
                    made = refresher.swapIn().seconds();
                    waited = (System.nanoTime() - t) / 1e9;
                }
                // a refresh that could not be made live before the last step would only delay the final checkpoint
                if (s + every < config.steps()) refresher.start(model.snapshotDocumentTower(), s);
            }
        } else if (s > 0) {
            if (refresher.pendingDone()) made = refresher.swapIn().seconds();
            if (!refresher.hasPending()) refresher.start(model.snapshotDocumentTower(), s);
        }
        return new double[] {waited, made};
    }

    public static void requireThreads(int wanted) {
        if (Parallel.threads() != wanted) {
            throw new IllegalStateException("threads: the worker pool already runs " + Parallel.threads() + " threads; set realm.threads=" + wanted
                    + " before the first tensor op (the CLI does)");
        }
    }
}
