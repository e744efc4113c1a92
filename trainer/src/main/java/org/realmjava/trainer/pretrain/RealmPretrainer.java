package org.realmjava.trainer.pretrain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.realmjava.mips.FloatMatrix;
import org.realmjava.mips.SearchOptions;
import org.realmjava.mips.SearchResult;
import org.realmjava.mips.VectorFiles;
import org.realmjava.tensor.Autograd;
import org.realmjava.tensor.Ops;
import org.realmjava.tensor.Tensor;
import org.realmjava.tensor.optim.AdamW;
import org.realmjava.trainer.config.PretrainConfig;
import org.realmjava.trainer.corpus.Block;
import org.realmjava.trainer.corpus.MaskedQuery;
import org.realmjava.trainer.model.RealmModel;
import org.realmjava.trainer.retrieval.Batches;
import org.realmjava.trainer.retrieval.BlockInputs;
import org.realmjava.trainer.retrieval.IndexRefresher;
import org.realmjava.trainer.train.MetricsLog;
import org.realmjava.trainer.train.Objective;
import org.realmjava.trainer.train.PhaseTimes;
import org.realmjava.trainer.train.Softmax;
import org.realmjava.trainer.train.TrainingLoop;
import org.realmjava.transformer.bert.BertEncoder;
import org.realmjava.transformer.tokenizer.WordPieceTokenizer;

/**
 * REALM pre-training, top to bottom: the objective the {@link TrainingLoop} runs. {@link #forward}
 * is one micro-batch of masked queries x:
 * <ol>
 * <li>{@link #embedQueries}: x through the query tower;</li>
 * <li>{@link #candidates}: the top k blocks of the live (stale) index by inner product, never the
 *     block x came from (matched by hash), then the null document;</li>
 * <li>{@link #score}: those candidates re-embedded with the current document tower, so that
 *     p(z|x) = softmax f(x, z) and its gradient are fresh (the index only chooses candidates);</li>
 * <li>{@link #read}: every (x, z) pair through the knowledge-augmented encoder, the MLM
 *     log-likelihood of each masked target, logits made only for the masked rows;</li>
 * <li>{@link #marginalLoss}: -log sum_z p(z|x) p(y|z,x), per masked token by default, over the
 *     whole set by option;</li>
 * <li>{@link #metrics}: accuracy, retrieval utility and entropy from host copies of the values.</li>
 * </ol>
 * The loop then back-propagates into the reader and both towers and applies AdamW. Before each step
 * {@link #beforeStep} runs the refresh schedule: the {@link IndexRefresher} re-embeds the corpus in
 * the background with a snapshot of the document tower. Setup: {@link PretrainRun}.
 */
public final class RealmPretrainer implements Objective<RealmPretrainer.Sums> {
    /** Extra hits searched beyond k + 1, so that duplicates of the query's own block can be dropped. */
    static final int EXTRA_HITS = 4;
    /** Marks an empty candidate slot (fewer blocks than k after dropping the query's own). */
    static final int MISSING = -2;
    static final String LIVE = "index-live.npy", PENDING = "index-pending.npy";

    final PretrainConfig config;
    final RealmModel model;
    final WordPieceTokenizer tokenizer;
    final List<Block> blocks;
    final BlockInputs blockInputs;
    final PretrainData data;
    final IndexRefresher refresher;
    final AdamW optimizer;
    final int padId, sepId, clsId;
    /** What the reader and the document tower keep of each layer for the backward (recompute_layers). */
    final BertEncoder.LayerMemory layerMemory;
    /** The step being run, whether the retriever learns in it (not during the reader warm-up), and what its refresh schedule did before it. */
    private long step;
    private boolean retrieverLearns = true;
    private double indexWait, refreshSeconds = Double.NaN;

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
        var trained = new java.util.LinkedHashMap<>(model.namedParameters());
        // a frozen document tower is not in the optimizer (and its index vectors stay exact)
        if (!config.trainDocTower()) trained.keySet().removeIf(n -> n.startsWith("doc.") || n.startsWith("doc_projection."));
        this.optimizer = AdamW.bertDefaults(trained).lrScale(name -> retriever.contains(name) ? config.retrieverLrScale() : 1.0);
        this.padId = tokenizer.padId();
        this.sepId = tokenizer.sepId();
        this.clsId = tokenizer.clsId();
        this.layerMemory = config.recomputeLayers() ? BertEncoder.LayerMemory.RECOMPUTE : BertEncoder.LayerMemory.KEEP;
    }

    // ---- the objective's part of the loop

    @Override
    public String kind() {
        return "pretrain";
    }

    @Override
    public AdamW optimizer() {
        return optimizer;
    }

    @Override
    public void beforeStep(long s) {
        step = s;
        retrieverLearns = s >= config.readerWarmup();
        indexWait = 0;
        refreshSeconds = Double.NaN;
        // the document tower changes only when it trains (not when frozen, not in the reader warm-up):
        // otherwise the index made before step 0 stays exact
        if (config.retrieval() && config.trainDocTower() && retrieverLearns) refreshSchedule(s);
    }

    @Override
    public Micro<Sums> forward(long s, int micro, SplittableRandom dropout, PhaseTimes phases) {
        Forward f = forward(batch(s, micro), dropout, phases);
        return new Micro<>(f.loss(), 1, f.sums());
    }

    /** The queries of micro-batch micro of step s. */
    List<MaskedQuery> batch(long s, int micro) {
        List<MaskedQuery> out = new ArrayList<>(config.batch());
        long first = (s * config.accumulate() + micro) * config.batch();
        for (int i = 0; i < config.batch(); i++) out.add(data.query(first + i));
        return out;
    }

    /**
     * Metric sums of micro-batches.
     *
     * @param accuracyHits masked tokens whose argmax of sum_z p(z|x) p(y_t|z,x) is the target
     * @param spanHits queries all of whose masked tokens are right
     * @param utilitySum per query: (log p(y|z_top,x) - log p(y|null,x)) per masked token, z_top the
     *     retrieved block with the highest score (0 without retrieval)
     * @param entropySum per query: the entropy of p(z|x) over the candidates, in nats
     * @param logLikelihoodSum log sum_z p(z|x) p(y|z,x) over the queries (per token, or per query for whole-set)
     */
    public record Sums(int queries, int maskedTokens, long tokens, double accuracyHits, double spanHits, double utilitySum, double entropySum,
                       double logLikelihoodSum) implements Objective.Sums<Sums> {
        @Override
        public Sums plus(Sums o) {
            return new Sums(queries + o.queries, maskedTokens + o.maskedTokens, tokens + o.tokens, accuracyHits + o.accuracyHits, spanHits + o.spanHits,
                    utilitySum + o.utilitySum, entropySum + o.entropySum, logLikelihoodSum + o.logLikelihoodSum);
        }

        double accuracy() {
            return maskedTokens == 0 ? Double.NaN : accuracyHits / maskedTokens;
        }

        double utility() {
            return utilitySum / Math.max(1, queries);
        }
    }

    @Override
    public void describe(Sums m, ObjectNode line) {
        line.put("stage", stage());
        MetricsLog.put(line, "mlm_accuracy", m.accuracy());
        MetricsLog.put(line, "span_accuracy", m.spanHits() / Math.max(1, m.queries()));
        MetricsLog.put(line, "utility", m.utility());
        MetricsLog.put(line, "entropy", m.entropySum() / Math.max(1, m.queries()));
        line.put("staleness", staleness());
        line.put("index_generation", refresher.generationNumber());
        if (!Double.isNaN(refreshSeconds)) MetricsLog.put(line, "refresh_s", refreshSeconds);
        MetricsLog.put(line, "index_wait_s", indexWait);
    }

    @Override
    public String summary(Sums m) {
        return String.format(Locale.ROOT, "%sacc %.3f util %+.3f gen %d stale %d", retrieverLearns ? "" : "reader warm-up, ", m.accuracy(), m.utility(),
                refresher.generationNumber(), staleness());
    }

    /** "reader-warmup" while only the reader trains, then "realm". */
    String stage() {
        return retrieverLearns ? "realm" : "reader-warmup";
    }

    /** Steps since the snapshot of the document tower behind the live index. */
    private long staleness() {
        return step - refresher.liveGeneration().snapshotStep();
    }

    @Override
    public List<MetricsLog.Plot> plots() {
        return List.of(new MetricsLog.Plot("loss.png", "REALM pre-training loss", "-log p(y|x)", "loss"),
                new MetricsLog.Plot("utility.png", "Retrieval utility", "log p(y|z_top,x) - log p(y|null,x)", "utility"));
    }

    /** The vectors of the live index and of the refresh in flight (a checkpoint waits for it), and their snapshot steps. */
    @Override
    public void save(Path checkpoint, ObjectNode extra) throws IOException {
        IndexRefresher.Generation pending = refresher.awaitPending(), live = refresher.liveGeneration();
        int dim = model.spec.projectionDim(), n = blocks.size();
        VectorFiles.writeNpy(checkpoint.resolve(LIVE), new FloatMatrix(live.vectors(), n, dim));
        if (pending != null) VectorFiles.writeNpy(checkpoint.resolve(PENDING), new FloatMatrix(pending.vectors(), n, dim));
        extra.put("index_generation", refresher.generationNumber()).put("live_snapshot_step", live.snapshotStep());
        if (pending != null) extra.put("pending_snapshot_step", pending.snapshotStep());
        else extra.putNull("pending_snapshot_step");
    }

    @Override
    public void restore(Path checkpoint, ObjectNode extra) throws IOException {
        FloatMatrix live = VectorFiles.readAll(checkpoint.resolve(LIVE));
        refresher.restoreLive(new IndexRefresher.Generation(live.data(), extra.path("live_snapshot_step").asLong(), 0),
                extra.path("index_generation").asLong());
        JsonNode ps = extra.get("pending_snapshot_step");
        if (ps != null && !ps.isNull()) {
            refresher.restorePending(new IndexRefresher.Generation(VectorFiles.readAll(checkpoint.resolve(PENDING)).data(), ps.asLong(), 0));
        }
    }

    // ---- the forward pass, step by step

    /**
     * One micro-batch's forward pass: the loss, its metric sums, and host copies of the candidates,
     * scores f [b, z] and reader log-likelihoods [b, z, T] (for {@link #explain}).
     */
    record Forward(Tensor loss, Sums sums, int[][] candidates, float[] scores, float[] logLikelihoods, int[][] predictions) {}

    /** The REALM forward pass over a batch of masked queries; rng null: no dropout (evaluation). */
    Forward forward(List<MaskedQuery> batch, SplittableRandom rng, PhaseTimes phases) {
        long t = PhaseTimes.now();
        Queries x = embedQueries(batch, rng);
        phases.add("query", t);

        t = PhaseTimes.now();
        boolean copyTask = rng != null && copyTask();
        // while the retriever is frozen (the reader warm-up) the index is exact: the wide pool's re-scoring would give its top k again
        boolean widePool = retrieverLearns && config.retrieval() && config.candidatePool() > config.k();
        boolean answerBlocks = rng != null && !retrieverLearns && config.warmupAnswerBlocks();
        int[][] cands = copyTask ? ownBlockOnly(batch) : !config.retrieval() ? nullOnly(batch.size())
                : answerBlocks ? answerBlocks(candidates(x.vectors(), batch, config.candidatePool()), batch)
                : candidates(x.vectors(), batch, widePool ? config.candidatePool() : config.k());
        phases.add("search", t);

        if (widePool) {
            t = PhaseTimes.now();
            cands = rescore(x.vectors(), cands);
            phases.add("documents", t);
        }
        return forwardOn(batch, x, cands, (copyTask || answerBlocks) && config.warmupSwapAnswers(), rng, phases);
    }

    /**
     * Evaluation reading given candidates (per query: blocks or {@link #MISSING}, then the null
     * document) instead of the index's: p(z|x) from the towers over those candidates only.
     */
    Forward forwardOn(List<MaskedQuery> batch, int[][] cands) {
        return forwardOn(batch, embedQueries(batch, null), cands, false, null, new PhaseTimes());
    }

    /** Steps 3-6 of the forward pass on chosen candidates; swap: the warm-up's swapped answers. */
    private Forward forwardOn(List<MaskedQuery> batch, Queries x, int[][] cands, boolean swap, SplittableRandom rng, PhaseTimes phases) {
        long t = PhaseTimes.now();
        Scores f = score(x.vectors(), cands, rng != null && !retrieverLearns && config.warmupWithoutNull(), rng);
        phases.add("documents", t);

        t = PhaseTimes.now();
        Swapped swapped = swap ? swapAnswers(batch, cands, rng) : null;
        if (swapped != null) batch = swapped.batch();
        Reading r = read(batch, cands, swapped, rng);
        phases.add("reader", t);

        t = PhaseTimes.now();
        float[] fv = f.scores().detach().toFloatArray(), lv = r.logLikelihoods().detach().toFloatArray();
        Marginal m = marginalLoss(f.scores(), r.logLikelihoods(), batch, r.maxMasked(), fv, lv);
        int[][] predictions = new int[batch.size()][];
        Sums sums = metrics(fv, lv, r.logits(), batch, cands[0].length, r.maxMasked(), x.tokens() + f.tokens() + r.tokens(), m.logLikelihoodSum(),
                predictions);
        phases.add("loss", t);
        return new Forward(m.loss(), sums, cands, fv, lv, predictions);
    }

    /** 1. The query tower's vectors q [b, dim] (null without retrieval) and the wordpieces read. */
    record Queries(Tensor vectors, long tokens) {}

    Queries embedQueries(List<MaskedQuery> batch, SplittableRandom rng) {
        if (!config.retrieval()) return new Queries(null, 0);
        List<int[]> ids = new ArrayList<>(batch.size()), types = new ArrayList<>(batch.size());
        for (MaskedQuery q : batch) {
            ids.add(q.ids());
            types.add(new int[q.ids().length]);
        }
        Batches qb = Batches.pad(ids, types, padId);
        return new Queries(model.embedQueries(qb.ids(), qb.types(), qb.mask(), rng), qb.realTokens());
    }

    /**
     * 2. Candidate blocks per query: the top k of the stale index (own block and its duplicates
     * dropped, {@link #MISSING} if too few), then the null document.
     */
    int[][] candidates(Tensor q, List<MaskedQuery> batch) {
        return candidates(q, batch, config.k());
    }

    /** The top k of the stale index per query (as above), then the null document. */
    int[][] candidates(Tensor q, List<MaskedQuery> batch, int k) {
        int b = batch.size(), dim = model.spec.projectionDim();
        float[] qv = q.detach().toFloatArray();
        long[] exclude = new long[b];
        for (int i = 0; i < b; i++) exclude[i] = batch.get(i).block();
        int want = (int) Math.min(k + EXTRA_HITS, blocks.size() - 1);
        SearchResult r = refresher.index().search(new FloatMatrix(qv, b, dim), want, new SearchOptions(exclude, null));
        int[][] out = new int[b][k + 1];
        for (int i = 0; i < b; i++) {
            int from = batch.get(i).block(); // -1: a probe, from no block of the corpus
            long own = from < 0 ? 0 : blocks.get(from).hash();
            int n = 0;
            for (int rank = 0; rank < r.count(i) && n < k; rank++) {
                int blk = (int) r.id(i, rank);
                if (from < 0 || blocks.get(blk).hash() != own) out[i][n++] = blk;
            }
            while (n < k) out[i][n++] = MISSING;
            out[i][k] = BlockInputs.NULL_DOCUMENT;
        }
        return out;
    }

    /**
     * The best k of a wider pool (candidates columns before the null document), by scores from the
     * current towers (no graph; the towers' gradients come through {@link #score} of the k kept).
     */
    int[][] rescore(Tensor q, int[][] pool) {
        int b = pool.length, n = pool[0].length - 1, k = config.k(), dim = model.spec.projectionDim();
        List<int[]> ids = new ArrayList<>(), types = new ArrayList<>();
        for (int[] row : pool) {
            for (int j = 0; j < n; j++) {
                int[] blk = blockInputs.ids(row[j] == MISSING ? BlockInputs.NULL_DOCUMENT : row[j]);
                ids.add(blk);
                types.add(BlockInputs.typeIds(blk, sepId));
            }
        }
        float[] qv = q.detach().toFloatArray(), dv;
        try (var g = Autograd.noGrad()) {
            dv = model.documentTower().embedUnpadded(ids, types).toFloatArray();
        }
        int[][] out = new int[b][k + 1];
        for (int i = 0; i < b; i++) {
            Integer[] order = new Integer[n];
            double[] fresh = new double[n];
            for (int j = 0; j < n; j++) {
                order[j] = j;
                double dot = 0;
                for (int x = 0; x < dim; x++) dot += (double) qv[i * dim + x] * dv[(i * n + j) * dim + x];
                fresh[j] = pool[i][j] == MISSING ? Double.NEGATIVE_INFINITY : dot;
            }
            // best first; ties to the earlier (stale-index) rank
            java.util.Arrays.sort(order, (u, v) -> fresh[u] != fresh[v] ? Double.compare(fresh[v], fresh[u]) : Integer.compare(u, v));
            for (int j = 0; j < k; j++) out[i][j] = pool[i][order[j]];
            out[i][k] = BlockInputs.NULL_DOCUMENT;
        }
        return out;
    }

    /** The reader warm-up's copy task: each query reads its own block (the sentence it was cut from) and the null document, nothing else. */
    private static int[][] ownBlockOnly(List<MaskedQuery> batch) {
        int[][] out = new int[batch.size()][];
        for (int i = 0; i < out.length; i++) out[i] = new int[] {batch.get(i).block() < 0 ? MISSING : batch.get(i).block(), BlockInputs.NULL_DOCUMENT};
        return out;
    }

    /**
     * warmup_answer_blocks: of each query's pool (best first, null document last), the first k
     * (warmup_k if set) blocks that contain its masked span, then the first warmup_distractors
     * that do not (the reader must tell which block is about the query); {@link #MISSING} where
     * fewer are found.
     */
    int[][] answerBlocks(int[][] pool, List<MaskedQuery> batch) {
        int k = config.warmupK() > 0 ? config.warmupK() : config.k(), d = config.warmupDistractors();
        int[][] out = new int[pool.length][k + d + 1];
        for (int i = 0; i < pool.length; i++) {
            int n = 0, m = 0;
            for (int j = 0; j < pool[i].length - 1 && (n < k || m < d); j++) {
                int blk = pool[i][j];
                if (blk == MISSING) continue;
                if (!occurrences(blockInputs.ids(blk), batch.get(i).targets()).isEmpty()) {
                    if (n < k) out[i][n++] = blk;
                } else if (m < d) {
                    out[i][k + m++] = blk;
                }
            }
            while (n < k) out[i][n++] = MISSING;
            while (m < d) out[i][k + m++] = MISSING;
            out[i][k + d] = BlockInputs.NULL_DOCUMENT;
        }
        return out;
    }

    /** The reader warm-up's copy task is on (in training only: evaluation always retrieves). */
    private boolean copyTask() {
        return config.retrieval() && config.warmupOwnBlock() && !retrieverLearns;
    }

    /**
     * The batch the reader learns from, and per query the span it had before the swap (null: not
     * swapped); every block that query reads is read with that span replaced by its new target.
     */
    record Swapped(List<MaskedQuery> batch, int[][] originals) {
        /** The ids of a block as query i reads it. */
        int[] asRead(int i, int[] ids) {
            if (originals[i] == null) return ids;
            int[] out = null, target = batch.get(i).targets();
            for (int at : occurrences(ids, originals[i])) {
                if (out == null) out = ids.clone();
                System.arraycopy(target, 0, out, at, target.length);
            }
            return out == null ? ids : out;
        }
    }

    /**
     * The warm-up with swapped answers: queries whose masked wordpieces occur in a block they read
     * (the own block of the copy task, or the answer blocks) are paired at random with another such
     * query of the micro-batch whose span has the same {@link #shape}; each takes the other's wordpieces as
     * its target, and its blocks are read with every occurrence of its span replaced by them.
     * Memorised facts and word priors then predict the wrong answer; the block gives the right one.
     */
    Swapped swapAnswers(List<MaskedQuery> batch, int[][] cands, SplittableRandom rng) {
        int b = batch.size();
        int[][] originals = new int[b][];
        java.util.Map<String, List<Integer>> byShape = new java.util.TreeMap<>();
        for (int i = 0; i < b; i++) {
            MaskedQuery q = batch.get(i);
            boolean found = false;
            for (int j = 0; j < cands[i].length && !found; j++) {
                found = cands[i][j] >= 0 && !occurrences(blockInputs.ids(cands[i][j]), q.targets()).isEmpty();
            }
            if (!found) continue;
            byShape.computeIfAbsent(shape(q), x -> new ArrayList<>()).add(i);
        }
        List<MaskedQuery> out = new ArrayList<>(batch);
        for (List<Integer> group : byShape.values()) {
            if (group.size() < 2) continue;
            // a random cyclic shift of a shuffled group: every member takes another's span
            for (int i = group.size() - 1; i > 0; i--) java.util.Collections.swap(group, i, rng.nextInt(i + 1));
            for (int g = 0; g < group.size(); g++) {
                MaskedQuery q = batch.get(group.get(g)), donor = batch.get(group.get((g + 1) % group.size()));
                if (Arrays.equals(q.targets(), donor.targets())) continue;
                originals[group.get(g)] = q.targets();
                out.set(group.get(g), new MaskedQuery(q.block(), q.sentence(), q.ids(), q.positions(), donor.targets(), donor.maskedText()));
            }
        }
        return new Swapped(out, originals);
    }

    /**
     * Which spans may be swapped for each other: as many wordpieces, and a number only for a
     * number of as many digits (a year for a year, a count for a count), so the block still reads
     * as the corpus does and the kind of answer asked for is still told by the words around it.
     */
    static String shape(MaskedQuery q) {
        String t = q.maskedText() == null ? "" : q.maskedText().strip();
        boolean digits = !t.isEmpty() && t.chars().allMatch(Character::isDigit);
        return q.masked() + (digits ? " digits " + t.length() : " words");
    }

    /** Start positions of the non-overlapping occurrences of span in ids. */
    public static List<Integer> occurrences(int[] ids, int[] span) {
        List<Integer> at = new ArrayList<>();
        for (int i = 0; i + span.length <= ids.length; i++) {
            if (Arrays.equals(ids, i, i + span.length, span, 0, span.length)) {
                at.add(i);
                i += span.length - 1;
            }
        }
        return at;
    }

    private static int[][] nullOnly(int b) {
        int[][] out = new int[b][1];
        for (int[] o : out) o[0] = BlockInputs.NULL_DOCUMENT;
        return out;
    }

    /** 3. Fresh retrieval scores f [b, z] (gradient into both towers) and the wordpieces read. */
    record Scores(Tensor scores, long tokens) {}

    /**
     * f(x, z) = scale * q . d_z with d_z from the current document tower; an empty slot gets -inf
     * (p(z|x) = 0). The null documents ([CLS] [SEP] [SEP]) go through in a batch of their own, here
     * and in the reader: padded beside full blocks they would cost as much as a block.
     */
    Scores score(Tensor q, int[][] cands, boolean withoutNull, SplittableRandom rng) {
        int b = cands.length, z = cands[0].length, kk = z - 1;
        if (!config.retrieval()) return new Scores(Tensor.zeros(b, 1), 0);
        List<int[]> dIds = new ArrayList<>(b * kk), dTypes = new ArrayList<>(b * kk), nIds = new ArrayList<>(b), nTypes = new ArrayList<>(b);
        float[] missing = new float[b * z];
        boolean anyMissing = false;
        int[] nul = blockInputs.ids(BlockInputs.NULL_DOCUMENT);
        for (int i = 0; i < b; i++) {
            boolean anyBlock = false;
            for (int j = 0; j < kk; j++) {
                int blk = cands[i][j];
                int[] ids = blockInputs.ids(blk == MISSING ? BlockInputs.NULL_DOCUMENT : blk);
                dIds.add(ids);
                dTypes.add(BlockInputs.typeIds(ids, sepId));
                if (blk == MISSING) {
                    missing[i * z + j] = Float.NEGATIVE_INFINITY;
                    anyMissing = true;
                } else {
                    anyBlock = true;
                }
            }
            nIds.add(nul);
            nTypes.add(BlockInputs.typeIds(nul, sepId));
            // warmup_without_null: p(null|x) = 0 (the null document is still read: the utility metric compares
            // with it), unless no block was found to read
            if (withoutNull && anyBlock) {
                missing[i * z + kk] = Float.NEGATIVE_INFINITY;
                anyMissing = true;
            }
        }
        Batches db = Batches.pad(dIds, dTypes, padId), nb = Batches.pad(nIds, nTypes, padId);
        int dim = model.spec.projectionDim();
        Tensor d;
        // the reader warm-up and a frozen document tower record no graph here (no retriever gradient to compute)
        try (var g = retrieverLearns && config.trainDocTower() ? null : Autograd.noGrad()) {
            d = Ops.concat(List.of(model.embedDocuments(db.ids(), db.types(), db.mask(), rng, layerMemory).reshape(b, kk, dim),
                    model.embedDocuments(nb.ids(), nb.types(), nb.mask(), rng, layerMemory).reshape(b, 1, dim)), 1);
        }
        Tensor f = (retrieverLearns ? q : q.detach()).unsqueeze(1).mul(d).sum(2, false).scale(model.spec.scoreScale());
        if (anyMissing) f = f.add(Tensor.of(missing, b, z));
        return new Scores(f, db.realTokens() + nb.realTokens());
    }

    /** 4. The reader's log p(y_t | z, x) [b, z, T] (T: most masked tokens of a query), its logits [b * z * T, vocab] (no graph), wordpieces read. */
    record Reading(Tensor logLikelihoods, Tensor logits, int maxMasked, long tokens) {}

    /** Reads every (x, z): the retrieved candidates as one batch, the null documents as another. */
    Reading read(List<MaskedQuery> batch, int[][] cands, SplittableRandom rng) {
        return read(batch, cands, null, rng);
    }

    /** As above; swapped (if not null): the blocks are read with each query's old span replaced by its target. */
    Reading read(List<MaskedQuery> batch, int[][] cands, Swapped swapped, SplittableRandom rng) {
        int b = batch.size(), z = cands[0].length, kk = z - 1, maxT = 0;
        for (MaskedQuery mq : batch) maxT = Math.max(maxT, mq.masked());
        Columns retrieved = kk == 0 ? null : readColumns(batch, cands, swapped, 0, kk, maxT, rng);
        Columns nul = readColumns(batch, cands, null, kk, 1, maxT, rng);
        Tensor ll = retrieved == null ? nul.ll() : Ops.concat(List.of(retrieved.ll(), nul.ll()), 1);
        Tensor logits;
        try (var g = Autograd.noGrad()) {
            long vocab = nul.logits().size(1);
            logits = retrieved == null ? nul.logits() : Ops.concat(List.of(retrieved.logits().reshape(b, kk, maxT, vocab),
                    nul.logits().reshape(b, 1, maxT, vocab)), 1).reshape((long) b * z * maxT, vocab);
        }
        return new Reading(ll, logits, maxT, nul.tokens() + (retrieved == null ? 0 : retrieved.tokens()));
    }

    /** The reader's output for candidate columns [from, from + n): ll [b, n, T], logits [b * n * T, vocab], tokens read. */
    private record Columns(Tensor ll, Tensor logits, long tokens) {}

    /** Reads [CLS] x [SEP] z [SEP] for the candidates in columns [from, from + n) of cands, as one batch. */
    private Columns readColumns(List<MaskedQuery> batch, int[][] cands, Swapped swapped, int from, int n, int maxT, SplittableRandom rng) {
        int b = batch.size(), maxLen = model.reader.config.maxPositions();
        List<int[]> rIds = new ArrayList<>(b * n), rTypes = new ArrayList<>(b * n);
        for (int i = 0; i < b; i++) {
            for (int j = from; j < from + n; j++) {
                int blk = cands[i][j];
                int[] ids = blockInputs.ids(blk < 0 ? BlockInputs.NULL_DOCUMENT : blk);
                ReaderSequence seq = readerInput(batch.get(i).ids(), swapped == null ? ids : swapped.asRead(i, ids), maxLen);
                rIds.add(seq.ids());
                rTypes.add(seq.types());
            }
        }
        Batches rb = Batches.pad(rIds, rTypes, padId);
        int len = rb.length(), h = model.reader.config.hiddenSize();
        Tensor hidden = model.reader.forward(rb.ids(), rb.types(), rb.mask(), rng, layerMemory).reshape((long) b * n * len, h);
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
        return new Columns(ll, logits, rb.realTokens());
    }

    /** One reader input: wordpiece ids and token types (0: the query, 1: the block). */
    record ReaderSequence(int[] ids, int[] types) {}

    /** [CLS] x [SEP] title [SEP] body [SEP]: the block's document-tower ids after its [CLS], cut to maxLen. */
    ReaderSequence readerInput(int[] query, int[] blockIds, int maxLen) {
        int n = Math.min(maxLen, query.length + blockIds.length - 1);
        int[] ids = new int[n], types = new int[n];
        System.arraycopy(query, 0, ids, 0, Math.min(n, query.length));
        for (int i = query.length; i < n; i++) {
            ids[i] = blockIds[i - query.length + 1];
            types[i] = 1;
        }
        if (n == maxLen && n > query.length) ids[n - 1] = sepId;
        return new ReaderSequence(ids, types);
    }

    /** 5. The loss (mean negative marginal log-likelihood) and the summed log-likelihood (a metric). */
    record Marginal(Tensor loss, double logLikelihoodSum) {}

    Marginal marginalLoss(Tensor f, Tensor ll, List<MaskedQuery> batch, int maxT, float[] fv, float[] lv) {
        if (config.retrieverLoss() == PretrainConfig.RetrieverLoss.MARGINAL || !config.retrieval()) return marginalLoss(f, ll, batch, maxT);
        // the reader learns from the marginal with p(z|x) detached; the retriever from a detached target q
        Marginal reader = marginalLoss(f.detach(), ll, batch, maxT);
        int b = batch.size(), z = (int) f.size(1);
        float[] target = new float[b * z];
        for (int i = 0; i < b; i++) {
            double[] prior = Softmax.of(fv, i * z, z), logq = new double[z];
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < z; j++) {
                if (prior[j] == 0) {
                    logq[j] = Double.NEGATIVE_INFINITY;
                    continue;
                }
                double seq = 0; // log p(y|z,x) of the whole masked span
                for (int t = 0; t < batch.get(i).masked(); t++) seq += lv[(i * z + j) * maxT + t];
                logq[j] = seq / config.retrieverTemperature() + (config.retrieverLoss() == PretrainConfig.RetrieverLoss.POSTERIOR ? Math.log(prior[j]) : 0);
                max = Math.max(max, logq[j]);
            }
            double sum = 0;
            for (int j = 0; j < z; j++) sum += Math.exp(logq[j] - max);
            for (int j = 0; j < z; j++) target[i * z + j] = (float) (Math.exp(logq[j] - max) / sum);
        }
        Tensor kl = Ops.softCrossEntropy(f, Tensor.of(target, b, z)).sum().scale(1f / b);
        // the retriever term adds its gradient but not its value: the loss stays -log p(y|x), comparable across recipes
        return new Marginal(reader.loss().add(kl.sub(kl.detach())), reader.logLikelihoodSum());
    }

    /** REALM's loss: the marginal over the candidates with the gradient into p(z|x). */
    private Marginal marginalLoss(Tensor f, Tensor ll, List<MaskedQuery> batch, int maxT) {
        int b = batch.size(), maskedTokens = 0;
        float[] tokenMask = new float[b * maxT];
        for (int i = 0; i < b; i++) {
            int m = batch.get(i).masked();
            maskedTokens += m;
            for (int k = 0; k < m; k++) tokenMask[i * maxT + k] = 1f;
        }
        Tensor mask = Tensor.of(tokenMask, b, maxT);
        Tensor logp, loss;
        if (config.perToken()) {
            logp = Ops.marginalLogLikelihood(f, ll, mask);
            loss = logp.sum().scale(-1f / maskedTokens);
        } else {
            logp = Ops.marginalLogLikelihood(f, ll.mul(mask.unsqueeze(1)).sum(2, true), null);
            loss = logp.sum().scale(-1f / b);
        }
        return new Marginal(loss, logp.detach().sum().item());
    }

    /**
     * 6. The metric sums of a micro-batch from host copies of f [b, z] and ll [b, z, T]: the
     * prediction for a masked token is argmax_v sum_z p(z|x) softmax(logits)_v (into predictions,
     * per query its masked tokens' predicted wordpieces).
     */
    Sums metrics(float[] fv, float[] lv, Tensor logits, List<MaskedQuery> batch, int z, int maxT, long tokens, double logLikelihoodSum,
                 int[][] predictions) {
        int b = batch.size(), maskedTokens = 0;
        float[] lg = logits.detach().toFloatArray();
        int vocab = (int) logits.size(1);
        double hits = 0, spans = 0, utility = 0, entropy = 0;
        double[] mix = new double[vocab];
        for (int i = 0; i < b; i++) {
            double[] prior = Softmax.of(fv, i * z, z);
            for (double p : prior) if (p > 0) entropy -= p * Math.log(p);
            MaskedQuery mq = batch.get(i);
            maskedTokens += mq.masked();
            if (config.retrieval() && z > 1) {
                int top = 0;
                for (int j = 1; j < z - 1; j++) if (fv[i * z + j] > fv[i * z + top]) top = j;
                double u = 0;
                for (int k = 0; k < mq.masked(); k++) u += lv[(i * z + top) * maxT + k] - lv[(i * z + z - 1) * maxT + k];
                utility += u / mq.masked();
            }
            int right = 0;
            predictions[i] = new int[mq.masked()];
            for (int k = 0; k < mq.masked(); k++) {
                Arrays.fill(mix, 0);
                for (int j = 0; j < z; j++) {
                    if (prior[j] == 0) continue;
                    double[] p = Softmax.of(lg, ((i * z + j) * maxT + k) * vocab, vocab);
                    for (int v = 0; v < vocab; v++) mix[v] += prior[j] * p[v];
                }
                int best = 0;
                for (int v = 1; v < vocab; v++) if (mix[v] > mix[best]) best = v;
                predictions[i][k] = best;
                if (best == mq.targets()[k]) right++;
            }
            hits += right;
            if (right == mq.masked()) spans++;
        }
        return new Sums(b, maskedTokens, tokens, hits, spans, utility, entropy, logLikelihoodSum);
    }

    /** One query's candidates, their p(z|x), and per candidate (log p(y|z,x) - log p(y|null,x)) per masked token. */
    record Explained(int[] blocks, double[] prior, double[] utility) {}

    /** The retrieval of one query explained (no dropout, no graph). */
    Explained explain(MaskedQuery q) {
        try (var g = Autograd.noGrad()) {
            Forward f = forward(List.of(q), null, new PhaseTimes());
            int[] cands = f.candidates()[0];
            float[] fv = f.scores(), lv = f.logLikelihoods();
            int z = cands.length, t = q.masked();
            double[] prior = Softmax.of(fv, 0, z), util = new double[z];
            for (int j = 0; j < z; j++) {
                double u = 0;
                for (int k = 0; k < t; k++) u += lv[j * t + k] - lv[(z - 1) * t + k];
                util[j] = u / t;
            }
            return new Explained(cands, prior, util);
        }
    }

    // ---- the index refresh

    /**
     * The refresh schedule, run before step s. refresh_every N > 0: at s = N, 2N, ... the refresh
     * started N steps earlier (if any) is made live, then a new one starts from the current
     * document tower (unless it could not be made live before the run's last step), so which index
     * a step sees depends only on s (reproducible; a resumed run matches). N = 0: a new refresh
     * starts as soon as the previous one is live, and a finished one is made live at the next step
     * boundary (fresher, not reproducible). Sets the wait and the made-live refresh's seconds.
     */
    void refreshSchedule(long s) {
        int every = config.refreshEvery();
        if (every > 0) {
            if (s > 0 && s % every == 0) {
                if (refresher.hasPending()) {
                    long t = System.nanoTime();
                    refreshSeconds = refresher.swapIn().seconds();
                    indexWait = (System.nanoTime() - t) / 1e9;
                }
                // a refresh that could not be made live before the last step would only delay the final checkpoint
                if (s + every < config.steps()) refresher.start(model.snapshotDocumentTower(), s);
            }
        } else if (s > 0) {
            if (refresher.pendingDone()) refreshSeconds = refresher.swapIn().seconds();
            if (!refresher.hasPending()) refresher.start(model.snapshotDocumentTower(), s);
        }
    }
}
