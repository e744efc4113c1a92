package org.realmjava.cli;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.realmjava.trainer.config.PretrainConfig;
import org.realmjava.trainer.pretrain.PretrainListener;
import org.realmjava.trainer.pretrain.PretrainRun;
import org.realmjava.trainer.pretrain.StepMetrics;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

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
        // the worker pool is sized once, at its first use: before any tensor op
        System.setProperty("realm.threads", Integer.toString(c.threads()));
        CliListener listener = new CliListener();
        Path last;
        try (PretrainRun run = PretrainRun.open(c, listener)) {
            last = run.run();
        } finally {
            listener.close();
        }
        System.err.println("final checkpoint: " + last);
        return 0;
    }

    /** A progress bar per long stage and for the steps; without a terminal, a line every ~5% of the run. */
    static final class CliListener implements PretrainListener, AutoCloseable {
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
        public void trainingStart(long fromStep, long stepCount) {
            from = fromStep;
            total = stepCount;
            steps = new Progress("pretrain", stepCount, "steps");
            steps.stepTo(fromStep);
        }

        @Override
        public void step(StepMetrics m) {
            // ICT steps have no retrieval utility or index: loss and in-batch accuracy only
            String line = Double.isNaN(m.utility())
                    ? String.format(Locale.ROOT, "loss %.4f acc %.3f tok/s %.0f%s", m.loss(), m.mlmAccuracy(), m.tokensPerSecond(),
                            m.skipped() > 0 ? " skipped " + m.skipped() : "")
                    : String.format(Locale.ROOT, "loss %.4f acc %.3f util %+.3f tok/s %.0f gen %d stale %d%s", m.loss(), m.mlmAccuracy(),
                            m.utility(), m.tokensPerSecond(), m.generation(), m.staleness(), m.skipped() > 0 ? " skipped " + m.skipped() : "");
            steps.stepTo(m.step() + 1);
            steps.extra(line);
            long every = Math.max(1, (total - from) / 20);
            if (!steps.shown() && ((m.step() + 1 - from) % every == 0 || m.step() + 1 == total)) {
                System.err.println("step " + (m.step() + 1) + "/" + total + ": " + line);
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
