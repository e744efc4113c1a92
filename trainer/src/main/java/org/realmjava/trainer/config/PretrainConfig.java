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
        int steps = c.integer("steps", 1000, 1);
        Masking.Strategy masking;
        try {
            masking = Masking.Strategy.parse(c.string("masking", "salient"));
        } catch (IllegalArgumentException e) {
            throw c.invalid("masking", "must be salient, random-span or random-token");
        }
        String marginal = c.choice("marginal", "per-token", "per-token", "whole-set");
        Path dir = c.path("checkpoint_dir");
        if (dir == null) throw c.invalid("checkpoint_dir", "is needed (the run's checkpoints, metrics and index live there)");
        PretrainConfig p = new PretrainConfig(c.file(), corpus, init, c.integer("projection_dim", 128, 1), c.integer("k", 8, 1),
                c.integer("query_len", 96, 8), c.integer("block_len", 288, 19), c.integer("batch", 2, 1), c.integer("accumulate", 1, 1), steps,
                c.number("lr", 3e-5, 0, 1), c.integer("warmup", Math.min(1000, steps / 10), 0), c.integer("refresh_every", 100, 0), masking,
                marginal.equals("per-token"), c.bool("retrieval", true), c.bool("shared_towers", false), dir, c.integer("checkpoint_every", 100, 1),
                c.integer("keep_checkpoints", 3, 1), c.longValue("seed", 0), c.integer("threads", Runtime.getRuntime().availableProcessors(), 1),
                c.number("heldout", 0.0, 0, 0.5), c.integer("refresh_batch", 32, 1), c.number("retriever_lr_scale", 1.0, 0, 100));
        if (p.warmup > steps) throw c.invalid("warmup", "(" + p.warmup + ") exceeds steps (" + steps + ")");
        c.finish();
        return p;
    }
}
