package org.realmjava.trainer.pretrain;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.realmjava.tensor.Ops;
import org.realmjava.tensor.Tensor;
import org.realmjava.tensor.optim.AdamW;
import org.realmjava.trainer.config.IctConfig;
import org.realmjava.trainer.corpus.Block;
import org.realmjava.trainer.model.RealmModel;
import org.realmjava.trainer.retrieval.Batches;
import org.realmjava.trainer.retrieval.BlockInputs;
import org.realmjava.trainer.train.MetricsLog;
import org.realmjava.trainer.train.Objective;
import org.realmjava.trainer.train.PhaseTimes;
import org.realmjava.trainer.train.Seeds;
import org.realmjava.transformer.tokenizer.WordPieceTokenizer;

/**
 * The Inverse Cloze Task (Lee et al. 2019, ORQA), REALM's retriever warm start, top to bottom. A
 * micro-batch ({@link #forward}):
 * <ol>
 * <li>{@link #example}: for each position of the stream, a block of 2+ sentences (in an order
 *     shuffled per epoch), one of its sentences as the query, and the block as its one positive,
 *     without that sentence remove_sentence of the time;</li>
 * <li>the queries through the query tower, the blocks through the document tower;</li>
 * <li>f(query_i, block_j) = scale * q_i . d_j [b, b]: the other blocks of the batch are the
 *     negatives; loss = cross-entropy against j = i;</li>
 * <li>in-batch accuracy: how often block i scores highest for query i.</li>
 * </ol>
 * Only the retriever (both towers and their projections) trains. Setup: {@link IctRun}.
 */
public final class IctObjective implements Objective<IctObjective.Sums> {
    private final IctConfig config;
    private final RealmModel model;
    private final WordPieceTokenizer tokenizer;
    private final List<Block> blocks;
    private final int[] eligible;
    private final Seeds.EpochOrder order;
    private final AdamW optimizer;

    /** eligible: the indices of the blocks with 2+ sentences (at least a batch of them). */
    IctObjective(IctConfig config, RealmModel model, WordPieceTokenizer tokenizer, List<Block> blocks, int[] eligible) {
        this.config = config;
        this.model = model;
        this.tokenizer = tokenizer;
        this.blocks = blocks;
        this.eligible = eligible;
        this.order = new Seeds.EpochOrder(eligible.length, config.seed(), Seeds.Stream.ICT_ORDER);
        this.optimizer = AdamW.bertDefaults(model.retrieverParameters());
    }

    @Override
    public String kind() {
        return "ict";
    }

    @Override
    public AdamW optimizer() {
        return optimizer;
    }

    /** Metric sums: examples, those whose own block scored highest, wordpieces read. */
    public record Sums(int examples, double hits, long tokens) implements Objective.Sums<Sums> {
        @Override
        public Sums plus(Sums o) {
            return new Sums(examples + o.examples, hits + o.hits, tokens + o.tokens);
        }

        double accuracy() {
            return hits / examples;
        }
    }

    /** One ICT example: the query's ids and its positive context's ids. */
    record Example(int[] query, int[] context) {}

    /** 1. The example at a position of the stream. */
    Example example(long position) {
        Block b = blocks.get(eligible[order.at(position)]);
        SplittableRandom r = Seeds.Stream.ICT_SENTENCE.random(config.seed(), position);
        int s = r.nextInt(b.sentences());
        int[] query = tokenizer.encode(b.sentence(s), null, config.queryLen(), WordPieceTokenizer.Truncation.LONGEST_FIRST).ids();
        String text = b.text();
        if (r.nextDouble() < config.removeSentence()) {
            text = (text.substring(0, b.sentenceStarts()[s]) + " " + text.substring(b.sentenceEnds()[s])).strip();
        }
        int[] context = tokenizer.encode(b.title(), text, config.blockLen(), WordPieceTokenizer.Truncation.ONLY_SECOND).ids();
        return new Example(query, context);
    }

    @Override
    public Micro<Sums> forward(long s, int micro, SplittableRandom dropout, PhaseTimes phases) {
        int b = config.batch(), sep = tokenizer.sepId(), pad = tokenizer.padId();
        long t = PhaseTimes.now();
        List<int[]> qIds = new ArrayList<>(b), qTypes = new ArrayList<>(b), cIds = new ArrayList<>(b), cTypes = new ArrayList<>(b);
        for (int i = 0; i < b; i++) {
            Example ex = example((s * config.accumulate() + micro) * b + i);
            qIds.add(ex.query());
            qTypes.add(new int[ex.query().length]);
            cIds.add(ex.context());
            cTypes.add(BlockInputs.typeIds(ex.context(), sep));
        }
        Batches qb = Batches.pad(qIds, qTypes, pad), cb = Batches.pad(cIds, cTypes, pad);
        phases.add("data", t);

        // 2. both towers
        t = PhaseTimes.now();
        Tensor q = model.embedQueries(qb.ids(), qb.types(), qb.mask(), dropout);
        phases.add("query", t);
        t = PhaseTimes.now();
        Tensor d = model.embedDocuments(cb.ids(), cb.types(), cb.mask(), dropout);
        phases.add("documents", t);

        // 3. query i against every block j of the batch; the right one is j = i
        t = PhaseTimes.now();
        Tensor scores = q.matmul(d.transpose(0, 1)).scale(model.spec.scoreScale());
        int[] diag = new int[b];
        for (int i = 0; i < b; i++) diag[i] = i;
        Tensor loss = Ops.crossEntropy(scores, Tensor.ofInts(diag, b), -100, 0f);

        // 4. in-batch accuracy
        float[] sv = scores.detach().toFloatArray();
        int hits = 0;
        for (int i = 0; i < b; i++) {
            int best = 0;
            for (int j = 1; j < b; j++) if (sv[i * b + j] > sv[i * b + best]) best = j;
            if (best == i) hits++;
        }
        phases.add("loss", t);
        return new Micro<>(loss, 1, new Sums(b, hits, qb.realTokens() + cb.realTokens()));
    }

    @Override
    public void describe(Sums m, ObjectNode line) {
        MetricsLog.put(line, "in_batch_accuracy", m.accuracy());
    }

    @Override
    public String summary(Sums m) {
        return String.format(Locale.ROOT, "acc %.3f", m.accuracy());
    }

    @Override
    public List<MetricsLog.Plot> plots() {
        return List.of(new MetricsLog.Plot("loss.png", "ICT loss", "cross-entropy over the batch", "loss"),
                new MetricsLog.Plot("accuracy.png", "ICT in-batch accuracy", "own block ranked first", "in_batch_accuracy"));
    }
}
