package org.realmjava.bench;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.realmjava.tensor.Autograd;
import org.realmjava.tensor.Tensor;

/**
 * Where an MLM training step's time goes: the step of {@link TrainingStepBenchmark} (MiniLM-L6
 * sizes, logits at the masked positions) split into forward, backward and AdamW, and the backward
 * by op (the autograd's own timer, {@code -Drealm.autograd.profile=true}). Medians over the
 * measured steps; the per-op figures are means per step. Run by scripts/profile-training.sh.
 *
 * <p>Usage: TrainingProfile [batch=32] [len=128] [warmupSteps=4] [steps=8]
 */
public final class TrainingProfile {
    private TrainingProfile() {}

    public static void main(String[] args) {
        if (!Boolean.getBoolean("realm.autograd.profile")) {
            System.err.println("TrainingProfile: run with -Drealm.autograd.profile=true (scripts/profile-training.sh does)");
            System.exit(2);
        }
        TrainingStepBenchmark b = new TrainingStepBenchmark();
        b.batch = args.length > 0 ? Integer.parseInt(args[0]) : 32;
        b.len = args.length > 1 ? Integer.parseInt(args[1]) : 128;
        int warmup = args.length > 2 ? Integer.parseInt(args[2]) : 4, steps = args.length > 3 ? Integer.parseInt(args[3]) : 8;
        b.mlmLogits = "masked";
        b.setup();
        List<Double> total = new ArrayList<>(), forward = new ArrayList<>(), backward = new ArrayList<>(), optimizer = new ArrayList<>();
        for (int s = 0; s < warmup + steps; s++) {
            if (s == warmup) Autograd.resetBackwardProfile();
            long t0 = System.nanoTime();
            Tensor loss = b.forwardLoss();
            long t1 = System.nanoTime();
            loss.backward();
            long t2 = System.nanoTime();
            b.optimizer.step(1e-4f);
            long t3 = System.nanoTime();
            System.err.printf("step %d: %.0f ms%n", s + 1, (t3 - t0) / 1e6);
            if (s >= warmup) {
                total.add((t3 - t0) / 1e6);
                forward.add((t1 - t0) / 1e6);
                backward.add((t2 - t1) / 1e6);
                optimizer.add((t3 - t2) / 1e6);
            }
        }
        double step = median(total);
        System.out.printf("batch %d, len %d, %d measured steps: %.0f ms per step (median), %.0f tokens/s%n", b.batch, b.len, steps, step, b.batch * b.len / step * 1e3);
        System.out.printf("forward %.0f ms | backward %.0f ms | AdamW %.0f ms (medians)%n", median(forward), median(backward), median(optimizer));
        System.out.println("backward by op (mean ms per step):");
        for (Map.Entry<String, Long> e : Autograd.backwardProfile().entrySet()) {
            System.out.printf("  %-16s %8.1f%n", e.getKey(), e.getValue() / 1e6 / steps);
        }
    }

    private static double median(List<Double> xs) {
        List<Double> sorted = new ArrayList<>(xs);
        Collections.sort(sorted);
        return sorted.get(sorted.size() / 2);
    }
}
