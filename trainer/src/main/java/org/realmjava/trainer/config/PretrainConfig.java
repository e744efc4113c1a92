package org.realmjava.trainer.config;

import java.nio.file.Path;
import org.realmjava.trainer.corpus.Masking;

/**
 * The keys of {@code realm pretrain --config C.json}, read strictly (unknown keys and wrong types
 * are errors naming the key). Defaults follow REALM where it makes sense on 2 cores: k = 8, query
 * length 96, blocks of 288 wordpieces, projection to 128, per-token marginal, salient masking.
 *
 * @param refreshEvery 0: start each refresh as soon as the last one ends (swapped in at the next
 *     step: not reproducible between runs); N > 0: snapshot the document tower at steps N, 2N, ...
 *     and make that snapshot's index live exactly N steps later (reproducible, resumable)
 * @param heldout fraction of blocks whose sentences are never training queries (held-out evaluation)
 * @param retrieverLrScale the retriever's (query and document towers', projections') learning rate as a multiple of lr
 * @param readerWarmup the first steps train the reader only: it reads the current top k, the
 *     retriever gets no gradient (metrics: stage "reader-warmup", then "realm")
 * @param candidates how many blocks to take from the stale index and re-score with the current
 *     towers before reading the best k of them (k: no re-scoring beyond the k read)
 * @param retrieverLoss how the retriever learns: MARGINAL (REALM: the gradient of -log sum_z p(z|x)
 *     p(y|z,x)), POSTERIOR (EMDR2: KL to the detached posterior q(z) ~ p(z|x) p(y|z,x)^(1/T), the
 *     reader trained on the marginal with a detached p(z|x)) or READER (Atlas's perplexity
 *     distillation: q(z) ~ p(y|z,x)^(1/T) over the candidates read)
 * @param retrieverTemperature T above
 * @param trainDocTower false: the document tower is frozen (query side only; its index stays exact)
 * @param warmupOwnBlock during the reader warm-up, each query reads its own block and the null
 *     document instead of the top k (a copy task: the reader learns to read the fact off a block
 *     before any block it reads holds the fact in other words; one block read, not k); never after
 *     the warm-up, never in evaluation
 * @param warmupSwapAnswers with warmupOwnBlock or warmupAnswerBlocks: each query's masked span is
 *     swapped, in its target and in the blocks it reads, for the span of another query of the micro-batch with as many
 *     wordpieces, so that only reading the block gives the answer (weights that memorised the
 *     corpus, or a prior from the query's words, predict the original; counterfactual entity
 *     substitution as in Longpre et al. 2021)
 * @param warmupWithoutNull p(null|x) = 0 during the reader warm-up (in training), so the reader
 *     learns from the blocks it reads alone (measured: the null document's half of the marginal
 *     slows a random reader's copying about five-fold; docs/experiments.md)
 * @param warmupAnswerBlocks during the reader warm-up, each query reads only those of the frozen
 *     retriever's top {@code candidates} blocks (own block excluded) that contain its masked span,
 *     at most k: every block read states the fact, in other words than the query's (the answer
 *     string as weak supervision, as ORQA and DPR pick positives)
 * @param warmupK with warmupAnswerBlocks: at most this many answer blocks per query (0: k); one
 *     block teaches the copy at a k-th of the reading
 * @param warmupDistractors with warmupAnswerBlocks: also read this many of the pool's best blocks
 *     that do not contain the span, so the reader learns which block is about the query
 * @param recomputeLayers the reader and the document tower keep only each layer's input for the
 *     backward and run the layer again there (activation recomputation: their activations, the
 *     largest part of a step's memory, for about one more forward of each; BertEncoder.LayerMemory)
 * @param queryContext SENTENCE: a query is one sentence; BLOCK: its sentence with the block's
 *     neighbouring sentences that fit query_len (Masking.Context), the span still from the sentence
 * @param ict an Inverse Cloze Task stage run first into checkpoint_dir/ict (null: none); REALM then
 *     starts from its final checkpoint
 */
public record PretrainConfig(Path file, CorpusConfig corpus, InitConfig init, int projectionDim, int k, int queryLen, int blockLen,
                             int batch, int accumulate, int steps, double lr, int warmup, int refreshEvery, Masking.Strategy masking,
                             boolean perToken, boolean retrieval, boolean sharedTowers, Path checkpointDir, int checkpointEvery,
                             int keepCheckpoints, long seed, int threads, double heldout, int refreshBatch, double retrieverLrScale,
                             int readerWarmup, int candidates, RetrieverLoss retrieverLoss, double retrieverTemperature, boolean trainDocTower,
                             boolean warmupOwnBlock, boolean warmupSwapAnswers, boolean warmupWithoutNull, boolean warmupAnswerBlocks,
                             int warmupK, int warmupDistractors, boolean recomputeLayers, Masking.Context queryContext, IctStage ict) {
    /** How the retriever learns (see the record's parameters). */
    public enum RetrieverLoss { MARGINAL, POSTERIOR, READER }

    /** The ICT warm-start stage of a pre-training config: its own step count, batch, lr, warm-up and remove_sentence. */
    public record IctStage(int steps, int batch, double lr, int warmup, double removeSentence) {}

    public static PretrainConfig read(Path file) {
        ConfigReader c = ConfigReader.open(file);
        CorpusConfig corpus = CorpusConfig.read(c.object("corpus"), c);
        InitConfig init = InitConfig.read(c.object("init"));
        TrainingKeys t = TrainingKeys.read(c, 2, 1, 3e-5);
        Masking.Strategy masking;
        try {
            masking = Masking.Strategy.parse(c.string("masking", "salient"));
        } catch (IllegalArgumentException e) {
            throw c.invalid("masking", "must be salient, random-span or random-token");
        }
        String marginal = c.choice("marginal", "per-token", "per-token", "whole-set");
        PretrainConfig p = new PretrainConfig(c.file(), corpus, init, c.integer("projection_dim", 128, 1), c.integer("k", 8, 1),
                c.integer("query_len", 96, 8), c.integer("block_len", 288, 19), t.batch(), t.accumulate(), t.steps(), t.lr(), t.warmup(),
                c.integer("refresh_every", 100, 0), masking, marginal.equals("per-token"), c.bool("retrieval", true), c.bool("shared_towers", false),
                t.checkpointDir(), t.checkpointEvery(), t.keepCheckpoints(), t.seed(), t.threads(), c.number("heldout", 0.0, 0, 0.5),
                c.integer("refresh_batch", 256, 1), c.number("retriever_lr_scale", 1.0, 0, 100), c.integer("reader_warmup", 0, 0),
                c.integer("candidates", 0, 0), RetrieverLoss.valueOf(c.choice("retriever_loss", "marginal", "marginal", "posterior", "reader")
                        .toUpperCase(java.util.Locale.ROOT)), c.number("retriever_temperature", 1.0, 1e-3, 1e3), c.bool("train_doc_tower", true),
                c.bool("warmup_own_block", false), c.bool("warmup_swap_answers", false), c.bool("warmup_without_null", false),
                c.bool("warmup_answer_blocks", false), c.integer("warmup_k", 0, 0), c.integer("warmup_distractors", 0, 0),
                c.bool("recompute_layers", false),
                c.choice("query_context", "sentence", "sentence", "block").equals("block") ? Masking.Context.BLOCK : Masking.Context.SENTENCE,
                readIct(c.object("ict")));
        if (p.warmupWithoutNull() && p.readerWarmup() == 0) throw c.invalid("warmup_without_null", "needs reader_warmup (it changes the warm-up only)");
        if (p.warmupAnswerBlocks() && (p.readerWarmup() == 0 || p.warmupOwnBlock())) {
            throw c.invalid("warmup_answer_blocks", "needs reader_warmup and no warmup_own_block (it chooses which retrieved blocks the warm-up reads)");
        }
        if (p.warmupK() > 0 && !p.warmupAnswerBlocks()) throw c.invalid("warmup_k", "needs warmup_answer_blocks (it caps the answer blocks read)");
        if (p.warmupK() > p.k()) throw c.invalid("warmup_k", "(" + p.warmupK() + ") must be at most k (" + p.k() + ")");
        if (p.warmupDistractors() > 0 && !p.warmupAnswerBlocks()) {
            throw c.invalid("warmup_distractors", "needs warmup_answer_blocks (it adds blocks without the answer beside them)");
        }
        if (p.warmupSwapAnswers() && !p.warmupOwnBlock() && !p.warmupAnswerBlocks()) {
            throw c.invalid("warmup_swap_answers", "needs warmup_own_block or warmup_answer_blocks (it swaps answers in the blocks that hold them)");
        }
        if (p.candidates() > 0 && p.candidates() < p.k()) throw c.invalid("candidates", "(" + p.candidates() + ") must be at least k (" + p.k() + ")");
        if (!p.trainDocTower() && p.sharedTowers()) throw c.invalid("train_doc_tower", "false needs separate towers (shared_towers is true)");
        if (p.readerWarmup() >= p.steps()) throw c.invalid("reader_warmup", "(" + p.readerWarmup() + ") must be below steps (" + p.steps() + ")");
        c.finish();
        return p;
    }

    private static IctStage readIct(ConfigReader c) {
        if (c == null) return null;
        int steps = c.integer("steps", 1000, 1);
        return new IctStage(steps, c.integer("batch", 16, 2), c.number("lr", 1e-4, 0, 1), c.integer("warmup", Math.min(1000, steps / 10), 0),
                c.number("remove_sentence", 0.9, 0, 1));
    }

    /** The same config starting from another init (the REALM stage after an ICT stage). */
    public PretrainConfig withInit(InitConfig newInit) {
        return new PretrainConfig(file, corpus, newInit, projectionDim, k, queryLen, blockLen, batch, accumulate, steps, lr, warmup, refreshEvery, masking,
                perToken, retrieval, sharedTowers, checkpointDir, checkpointEvery, keepCheckpoints, seed, threads, heldout, refreshBatch,
                retrieverLrScale, readerWarmup, candidates, retrieverLoss, retrieverTemperature, trainDocTower, warmupOwnBlock, warmupSwapAnswers, warmupWithoutNull,
                warmupAnswerBlocks, warmupK, warmupDistractors, recomputeLayers, queryContext, ict);
    }

    /** The ICT stage as an ICT config of its own: this config's corpus, init, shapes, seed and threads, in ictDir. */
    public IctConfig ictConfig(Path ictDir) {
        return new IctConfig(file, corpus, init, projectionDim, queryLen, blockLen, ict.batch(), 1, ict.steps(), ict.lr(), ict.warmup(), ict.removeSentence(),
                sharedTowers, ictDir, Math.max(1, Math.min(checkpointEvery, ict.steps())), 1, seed, threads);
    }

    /** How many blocks each query takes from the stale index (at least k). */
    public int candidatePool() {
        return Math.max(k, candidates);
    }

    /** The keys every training command reads the same way, as the training loop takes them. */
    public TrainingKeys training() {
        return new TrainingKeys(batch, accumulate, steps, lr, warmup, checkpointDir, checkpointEvery, keepCheckpoints, seed, threads);
    }
}
