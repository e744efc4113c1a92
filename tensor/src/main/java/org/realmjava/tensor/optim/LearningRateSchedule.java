package org.realmjava.tensor.optim;

/**
 * Linear warm-up from 0 to peak over warmupSteps, then linear decay to 0 at totalSteps (BERT's
 * schedule). Step numbers start at 0; the rate at step s is used for the update that makes s+1.
 */
public record LearningRateSchedule(float peak, long warmupSteps, long totalSteps) {
    public LearningRateSchedule {
        if (peak < 0 || warmupSteps < 0 || totalSteps <= 0 || warmupSteps > totalSteps) {
            throw new IllegalArgumentException("LearningRateSchedule: need peak >= 0 and 0 <= warmup (" + warmupSteps
                    + ") <= total (" + totalSteps + "), total > 0");
        }
    }

    public float at(long step) {
        if (step < warmupSteps) return peak * (step + 1) / warmupSteps;
        if (step >= totalSteps) return 0f;
        long decaySteps = totalSteps - warmupSteps;
        return peak * (totalSteps - step) / (float) decaySteps;
    }
}
