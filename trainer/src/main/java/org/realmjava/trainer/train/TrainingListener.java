package org.realmjava.trainer.train;

import java.nio.file.Path;

/** What a running training (pre-training, ICT, fine-tuning) tells its caller; the CLI draws progress bars from it. */
public interface TrainingListener {
    /** A line worth printing: what was loaded, where it resumes, what a stage costs. */
    default void info(String line) {}

    /** A long stage starts (embedding the corpus): total units, and units done so far through progress. */
    default void stageStart(String name, long total, String unit) {}

    default void stageProgress(long done) {}

    default void stageEnd() {}

    /** The step loop starts: name for the progress bar ("pretrain", "finetune"), first step, step count. */
    default void trainingStart(String name, long fromStep, long steps) {}

    /** Step {@code step} (0-based) finished; summary: its figures in one short line. */
    default void step(long step, String summary) {}

    default void checkpoint(Path dir) {}

    TrainingListener SILENT = new TrainingListener() {};
}
