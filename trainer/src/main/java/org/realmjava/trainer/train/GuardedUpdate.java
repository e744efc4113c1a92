package org.realmjava.trainer.train;

import org.realmjava.tensor.optim.AdamW;
import org.realmjava.tensor.optim.GradientClipping;

/**
 * The update at the end of a step: clip the global gradient norm to 1.0 and step AdamW, unless the
 * loss, the gradient, a weight or the optimizer's state is not finite (a damaged moment would
 * otherwise write NaN into every weight it updates); then skip the update, count it, and after
 * {@link #LIMIT} skipped steps in a row stop the run with one line.
 */
public final class GuardedUpdate {
    public static final int LIMIT = 10;

    public long skipped, streak;

    /** Applies the update (finite: the loss was finite) and returns whether it was applied. */
    public boolean apply(AdamW optimizer, boolean finite, float lr) {
        double norm = finite ? GradientClipping.clipGlobalNorm(optimizer.parameters().values(), 1.0) : Double.NaN;
        if (finite && Double.isFinite(norm) && optimizer.firstNonFinite() == null) {
            optimizer.step(lr);
            streak = 0;
            return true;
        }
        skipped++;
        streak++;
        optimizer.zeroGrad();
        return false;
    }

    /** Throws TrainingStopped once LIMIT steps in a row ending at step s were skipped (call after s's metrics are out). */
    public void stopIfStuck(long s) {
        if (streak >= LIMIT) {
            throw new TrainingStopped(LIMIT + " steps in a row (" + (s - streak + 1) + " to " + s
                    + ") had a non-finite loss, gradient, weight or optimizer state; stopping (lower lr, or check the data)");
        }
    }

    /** Training ended for another reason than the step count. */
    public static final class TrainingStopped extends RuntimeException {
        public TrainingStopped(String message) {
            super(message);
        }
    }
}
