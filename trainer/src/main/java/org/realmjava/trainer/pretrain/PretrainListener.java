package org.realmjava.trainer.pretrain;

import java.nio.file.Path;

/** What a running pre-training tells its caller (the CLI draws a progress bar from it). */
public interface PretrainListener {
    /** A line worth printing: what was loaded, where it resumes, what a stage costs. */
    default void info(String line) {}

    /** A long stage starts (embedding the corpus): total units, and units done so far through progress. */
    default void stageStart(String name, long total, String unit) {}

    default void stageProgress(long done) {}

    default void stageEnd() {}

    default void trainingStart(long fromStep, long steps) {}

    default void step(StepMetrics m) {}

    default void checkpoint(Path dir) {}

    PretrainListener SILENT = new PretrainListener() {};
}
