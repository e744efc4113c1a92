package org.realmjava.trainer.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.realmjava.tensor.Tensor;
import org.realmjava.tensor.optim.AdamW;

/**
 * What one kind of training supplies to the {@link TrainingLoop}: the data a micro-batch draws and
 * its forward pass (loss and metric sums), the parameters it trains, the figures it reports, and
 * the files of its own it keeps in a checkpoint. Everything else (resume, accumulation, the guarded
 * update, metrics lines, checkpoints, plots) is the loop's. Pre-training, ICT and fine-tuning are
 * three objectives; a new objective is one new class.
 *
 * @param <S> the metric sums of a micro-batch (a record), added up over a step
 */
public interface Objective<S extends Objective.Sums<S>> {
    /** Metric sums of micro-batches: added up over a step, then reported by the objective. */
    interface Sums<S> {
        S plus(S other);

        /** Wordpieces that went through an encoder (tokens/s of the step). */
        long tokens();
    }

    /**
     * One micro-batch's forward pass.
     *
     * @param loss the mean loss over {@code weight} items (queries, questions); null: nothing in the
     *     micro-batch to learn from (no question had a matching span), it adds no loss and no gradient
     */
    record Micro<S>(Tensor loss, int weight, S sums) {}

    /** The run kind in state.json and the progress bar: "pretrain", "ict", "finetune". */
    String kind();

    /** The optimizer over exactly the parameters this objective trains. */
    AdamW optimizer();

    /** Runs before step s's micro-batches (pre-training: the index refresh schedule). */
    default void beforeStep(long step) {}

    /** Micro-batch {@code micro} of step {@code step}: draws its data and runs the forward pass (dropout from rng). */
    Micro<S> forward(long step, int micro, SplittableRandom dropout, PhaseTimes phases);

    /** The objective's figures of a step (its summed micro-batches) into the step's metrics line. */
    void describe(S sums, ObjectNode line);

    /** The same figures in a few words for the progress line. */
    String summary(S sums);

    /** The plots drawn from metrics.jsonl at every checkpoint. */
    List<MetricsLog.Plot> plots();

    /** Writes the objective's own files into a checkpoint being written, and its state into extra. */
    default void save(Path checkpoint, ObjectNode extra) throws IOException {}

    /** Restores what {@link #save} wrote (on resume). */
    default void restore(Path checkpoint, ObjectNode extra) throws IOException {}
}
