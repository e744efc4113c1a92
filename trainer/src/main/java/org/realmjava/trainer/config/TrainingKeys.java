package org.realmjava.trainer.config;

import java.nio.file.Path;

/**
 * The keys every training command reads the same way (pretrain, ict, finetune): batch,
 * accumulate, steps, lr, warmup (default: a tenth of the steps, at most 1,000), checkpoint_dir
 * (required), checkpoint_every, keep_checkpoints, seed, threads (default: all cores).
 */
public record TrainingKeys(int batch, int accumulate, int steps, double lr, int warmup, Path checkpointDir, int checkpointEvery, int keepCheckpoints,
                           long seed, int threads) {

    /** Reads the keys with a command's own defaults for batch (and its smallest value) and lr. */
    public static TrainingKeys read(ConfigReader c, int defaultBatch, int minBatch, double defaultLr) {
        int steps = c.integer("steps", 1000, 1);
        Path dir = c.path("checkpoint_dir");
        if (dir == null) throw c.invalid("checkpoint_dir", "is needed (the run's checkpoints and metrics live there)");
        TrainingKeys t = new TrainingKeys(c.integer("batch", defaultBatch, minBatch), c.integer("accumulate", 1, 1), steps, c.number("lr", defaultLr, 0, 1),
                c.integer("warmup", Math.min(1000, steps / 10), 0), dir, c.integer("checkpoint_every", 100, 1), c.integer("keep_checkpoints", 3, 1),
                c.longValue("seed", 0), c.integer("threads", Runtime.getRuntime().availableProcessors(), 1));
        if (t.warmup > steps) throw c.invalid("warmup", "(" + t.warmup + ") exceeds steps (" + steps + ")");
        return t;
    }
}
