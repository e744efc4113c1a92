package org.realmjava.trainer.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.SplittableRandom;
import org.realmjava.tensor.optim.AdamW;
import org.realmjava.tensor.optim.LearningRateSchedule;
import org.realmjava.trainer.checkpoint.CheckpointDirectory;
import org.realmjava.trainer.checkpoint.TrainingFiles;
import org.realmjava.trainer.config.TrainingKeys;
import org.realmjava.trainer.model.RealmModel;

/**
 * The one training loop of pre-training, ICT and fine-tuning; an {@link Objective} supplies only
 * its data, forward pass and figures. One step:
 * <ol>
 * <li>{@link Objective#beforeStep} (pre-training swaps in a refreshed index here);</li>
 * <li>for each of the {@code accumulate} micro-batches: the objective's forward pass with dropout
 *     drawn from {@link Seeds.Stream#DROPOUT} at (step * accumulate + micro), then backward of
 *     loss / accumulate; a non-finite loss ends the step's micro-batches;</li>
 * <li>the guarded update ({@link GuardedUpdate}: clip 1.0 and AdamW at the warm-up/linear-decay
 *     learning rate, or skip and count a non-finite loss, gradient, weight or moment; ten skipped in a row stop the
 *     run). A step none of whose micro-batches had anything to learn from applies nothing and is
 *     not counted as a failure;</li>
 * <li>one metrics.jsonl line (loss, the objective's figures, tokens/s, skipped steps, lr, phase
 *     timings) and a progress line; every checkpoint_every steps and at the end a checkpoint:
 *     model, tokenizer, optimizer ({@link TrainingFiles}), the objective's files, {@link RunState};
 *     then the plots.</li>
 * </ol>
 * On resume (a {@link RunDirectory} with a checkpoint) the optimizer, the guard's counters and the
 * objective's files are restored; data and dropout are functions of (seed, step), so the resumed
 * run repeats the uninterrupted one bit for bit.
 */
public final class TrainingLoop<S extends Objective.Sums<S>> {
    /** What a run was started with, checked on resume (see {@link RunState}). */
    public record Identity(String modelKey, String dataKey, ObjectNode settings) {}

    private static final ObjectMapper JSON = new ObjectMapper();

    private final RunDirectory run;
    private final Objective<S> objective;
    private final TrainingKeys keys;
    private final RealmModel model;
    private final TrainingFiles.Tokenizer tokenizer;
    private final Identity identity;
    private final TrainingListener listener;
    private final LearningRateSchedule schedule;
    private final GuardedUpdate update = new GuardedUpdate();
    private final MetricsLog metrics;
    private final long start;

    /** Prepares the loop; when the run resumes, checks its data and settings and restores its state. */
    public TrainingLoop(RunDirectory run, Objective<S> objective, TrainingKeys keys, RealmModel model, TrainingFiles.Tokenizer tokenizer, Identity identity,
                        TrainingListener listener) throws IOException {
        run.requireSameInputs(identity.dataKey(), identity.settings());
        this.run = run;
        this.objective = objective;
        this.keys = keys;
        this.model = model;
        this.tokenizer = tokenizer;
        this.identity = identity;
        this.listener = listener;
        this.schedule = new LearningRateSchedule((float) keys.lr(), keys.warmup(), keys.steps());
        run.create();
        if (run.resuming()) {
            RunState state = run.state();
            TrainingFiles.readOptimizer(run.latest(), objective.optimizer());
            String bad = objective.optimizer().firstNonFinite();
            if (bad != null) throw new IllegalArgumentException(run.latest() + ": " + bad + " holds a NaN or an infinity");
            update.skipped = state.skippedSteps();
            update.streak = state.nonFiniteStreak();
            objective.restore(run.latest(), state.extra());
            start = state.step();
            listener.info("resuming from step " + start + " (" + run.latest() + ")");
        } else {
            start = 0;
        }
        this.metrics = new MetricsLog(run.dir(), start, objective.plots());
    }

    public long startStep() {
        return start;
    }

    /** Steps skipped so far for a non-finite loss, gradient, weight or moment. */
    public long skippedSteps() {
        return update.skipped;
    }

    /** Trains from the start step to the configured step count; returns the newest checkpoint. */
    public Path run() throws IOException {
        Path last = CheckpointDirectory.latest(run.dir());
        listener.trainingStart(objective.kind(), start, keys.steps());
        for (long s = start; s < keys.steps(); s++) {
            StepMetrics<S> m = step(s);
            metrics.append(m.toJson(objective));
            listener.step(s, m.summary(objective));
            update.stopIfStuck(s);
            long done = s + 1;
            if (done % keys.checkpointEvery() == 0 || done == keys.steps()) {
                last = save(done);
                listener.checkpoint(last);
            }
        }
        return last;
    }

    /** One optimizer step (see the class comment). */
    StepMetrics<S> step(long s) {
        long t0 = PhaseTimes.now();
        objective.beforeStep(s);
        long tc = PhaseTimes.now();
        PhaseTimes phases = new PhaseTimes();
        AdamW optimizer = objective.optimizer();
        optimizer.zeroGrad();
        int accumulate = keys.accumulate();
        double lossSum = 0;
        long weight = 0;
        S sums = null;
        boolean finite = true;
        for (int micro = 0; micro < accumulate && finite; micro++) {
            SplittableRandom dropout = Seeds.Stream.DROPOUT.random(keys.seed(), s * accumulate + micro);
            Objective.Micro<S> m = objective.forward(s, micro, dropout, phases);
            sums = sums == null ? m.sums() : sums.plus(m.sums());
            if (m.loss() == null) continue;
            float value = m.loss().item();
            if (!Float.isFinite(value)) {
                finite = false;
                break;
            }
            long tb = PhaseTimes.now();
            m.loss().scale(1f / accumulate).backward();
            phases.add("backward", tb);
            lossSum += (double) value * m.weight();
            weight += m.weight();
        }
        long to = PhaseTimes.now();
        float lr = schedule.at(s);
        boolean applied = false;
        if (weight == 0 && finite) optimizer.zeroGrad(); // nothing to learn from: no gradient to apply, and no failure either
        else applied = update.apply(optimizer, finite, lr);
        phases.add("optimizer", to);
        long end = PhaseTimes.now();
        return new StepMetrics<>(s, applied ? lossSum / weight : Double.NaN, sums, lr, update.skipped, (end - t0) / 1e9, (end - tc) / 1e9, phases);
    }

    private Path save(long done) throws IOException {
        Path written = CheckpointDirectory.write(run.dir(), done, keys.keepCheckpoints(), tmp -> {
            TrainingFiles.write(tmp, model, tokenizer, objective.optimizer());
            ObjectNode extra = JSON.createObjectNode();
            objective.save(tmp, extra);
            new RunState(objective.kind(), done, keys.seed(), update.skipped, update.streak, identity.modelKey(), identity.dataKey(), identity.settings(),
                    extra).write(tmp);
        });
        metrics.plot(run.dir());
        return written;
    }

    /**
     * What one step measured: one metrics.jsonl line.
     *
     * @param loss the step's mean loss (over the micro-batches' items); NaN when the update was skipped
     * @param stepSeconds the whole step, with any wait before it (a refresh being made live)
     * @param computeSeconds the micro-batches and the update (tokens/s is over this)
     */
    record StepMetrics<S extends Objective.Sums<S>>(long step, double loss, S sums, double lr, long skipped, double stepSeconds, double computeSeconds,
                                                      PhaseTimes phases) {
        ObjectNode toJson(Objective<S> objective) {
            ObjectNode n = MetricsLog.line(step);
            MetricsLog.put(n, "loss", loss);
            objective.describe(sums, n);
            MetricsLog.put(n, "tokens_per_s", sums.tokens() / computeSeconds);
            n.put("tokens", sums.tokens());
            n.put("skipped_steps", skipped);
            MetricsLog.put(n, "lr", lr);
            MetricsLog.put(n, "step_s", stepSeconds);
            ObjectNode t = n.putObject("phase_s");
            phases.seconds().forEach((k, v) -> MetricsLog.put(t, k, v));
            return n;
        }

        String summary(Objective<S> objective) {
            return String.format(Locale.ROOT, "loss %.4f %s tok/s %.0f%s", loss, objective.summary(sums), sums.tokens() / computeSeconds,
                    skipped > 0 ? " skipped " + skipped : "");
        }
    }
}
