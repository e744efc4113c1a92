package org.realmjava.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.realmjava.trainer.config.PretrainConfig;
import org.realmjava.trainer.pretrain.PretrainRun;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import org.realmjava.trainer.train.TrainingListener;

/** {@code realm pretrain --config C.json}: REALM pre-training, resumable from its checkpoint_dir. */
@Command(name = "pretrain", mixinStandardHelpOptions = true,
        description = {"REALM pre-training: a retriever (query and document towers) and a knowledge-augmented encoder trained together through",
                "retrieval, with the index refreshed in the background. Run the same command again to resume from the last checkpoint."})
final class PretrainCommand implements Callable<Integer> {
    @Option(names = "--config", required = true, description = "JSON config (keys: docs/pretraining.md; relative paths resolve against its folder)")
    Path config;

    @Override
    public Integer call() throws Exception {
        PretrainConfig c = PretrainConfig.read(config);
        train(c.threads(), listener -> PretrainRun.runStages(c, listener));
        return 0;
    }

    /** A training run started with a listener; returns its final checkpoint. */
    @FunctionalInterface
    interface Training {
        Path run(TrainingListener listener) throws IOException;
    }

    /**
     * Runs a training command (pretrain, ict, finetune) with progress bars and prints its final
     * checkpoint. The worker pool is sized once, at its first use, so the config's thread count is
     * set before any tensor op.
     */
    static Path train(int threads, Training training) throws IOException {
        System.setProperty("realm.threads", Integer.toString(threads));
        CliListener listener = new CliListener();
        Path last;
        try {
            last = training.run(listener);
        } finally {
            listener.close();
        }
        System.err.println("final checkpoint: " + last);
        return last;
    }

    /** A progress bar per long stage and for the steps; without a terminal, a line every ~5% of the run. */
    static final class CliListener implements TrainingListener, AutoCloseable {
        private Progress stage, steps;
        private long total, from;

        @Override
        public void info(String line) {
            System.err.println(line);
        }

        @Override
        public void stageStart(String name, long units, String unit) {
            stage = new Progress(name, units, unit);
        }

        @Override
        public void stageProgress(long done) {
            if (stage != null) stage.stepTo(done);
        }

        @Override
        public void stageEnd() {
            if (stage != null) stage.close();
            stage = null;
        }

        @Override
        public void trainingStart(String name, long fromStep, long stepCount) {
            from = fromStep;
            total = stepCount;
            steps = new Progress(name, stepCount, "steps");
            steps.stepTo(fromStep);
        }

        @Override
        public void step(long step, String line) {
            steps.stepTo(step + 1);
            steps.extra(line);
            long every = Math.max(1, (total - from) / 20);
            if (!steps.shown() && ((step + 1 - from) % every == 0 || step + 1 == total)) {
                System.err.println("step " + (step + 1) + "/" + total + ": " + line);
            }
        }

        @Override
        public void checkpoint(Path dir) {
            if (!steps.shown()) System.err.println("checkpoint: " + dir);
        }

        @Override
        public void close() {
            if (stage != null) stage.close();
            if (steps != null) steps.close();
        }
    }
}
