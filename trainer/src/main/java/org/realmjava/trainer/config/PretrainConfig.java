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
 */
public record PretrainConfig(Path file, CorpusConfig corpus, InitConfig init, int projectionDim, int k, int queryLen, int blockLen,
                             int batch, int accumulate, int steps, double lr, int warmup, int refreshEvery, Masking.Strategy masking,
                             boolean perToken, boolean retrieval, boolean sharedTowers, Path checkpointDir, int checkpointEvery,
                             int keepCheckpoints, long seed, int threads, double heldout, int refreshBatch, double retrieverLrScale) {

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
                c.integer("refresh_batch", 256, 1), c.number("retriever_lr_scale", 1.0, 0, 100));
        c.finish();
        return p;
    }

    /** The keys every training command reads the same way, as the training loop takes them. */
    public TrainingKeys training() {
        return new TrainingKeys(batch, accumulate, steps, lr, warmup, checkpointDir, checkpointEvery, keepCheckpoints, seed, threads);
    }
}
