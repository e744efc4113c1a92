package org.realmjava.trainer.config;

import java.nio.file.Path;

/**
 * The keys of {@code realm ict --config C.json} (the Inverse Cloze Task warm start of the
 * retriever, ORQA): corpus, init, projection_dim, query_len, block_len, batch (the in-batch
 * negatives: batch - 1 per query), accumulate, steps, lr, warmup, remove_sentence (how often the
 * query sentence is taken out of its block; ORQA: 0.9), shared_towers, checkpoint_dir,
 * checkpoint_every, keep_checkpoints, seed, threads.
 */
public record IctConfig(Path file, CorpusConfig corpus, InitConfig init, int projectionDim, int queryLen, int blockLen, int batch, int accumulate,
                        int steps, double lr, int warmup, double removeSentence, boolean sharedTowers, Path checkpointDir, int checkpointEvery,
                        int keepCheckpoints, long seed, int threads) {

    public static IctConfig read(Path file) {
        ConfigReader c = ConfigReader.open(file);
        CorpusConfig corpus = CorpusConfig.read(c.object("corpus"), c);
        InitConfig init = InitConfig.read(c.object("init"));
        TrainingKeys t = TrainingKeys.read(c, 16, 2, 1e-4);
        IctConfig i = new IctConfig(c.file(), corpus, init, c.integer("projection_dim", 128, 1), c.integer("query_len", 64, 8), c.integer("block_len", 288, 19),
                t.batch(), t.accumulate(), t.steps(), t.lr(), t.warmup(), c.number("remove_sentence", 0.9, 0, 1), c.bool("shared_towers", false),
                t.checkpointDir(), t.checkpointEvery(), t.keepCheckpoints(), t.seed(), t.threads());
        c.finish();
        return i;
    }

    /** The keys every training command reads the same way, as the training loop takes them. */
    public TrainingKeys training() {
        return new TrainingKeys(batch, accumulate, steps, lr, warmup, checkpointDir, checkpointEvery, keepCheckpoints, seed, threads);
    }
}
