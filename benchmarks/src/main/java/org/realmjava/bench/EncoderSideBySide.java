package org.realmjava.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * The encoder forward of this engine (f32 weights, and bf16 weights) and of ONNX Runtime,
 * interleaved in one JVM: rounds of a few forwards of each side in turn (the order rotating per
 * round), each forward timed alone.
 * On a shared 2-core machine a burst of outside load lands on both sides this way, where JMH's
 * separate forks (minutes apart) can catch it on one side only (seen: an ORT fork at 24 ms/op
 * beside one at 16.4). Setup and the parity check are EncoderBenchmark's.
 *
 * <p>Usage: {@code EncoderSideBySide [batch=1] [len=128] [measureSeconds=120] [warmupSeconds=40]};
 * prints one line per side and one per realm side with the ratios (ORT time / realm time: above 1
 * means realm is faster).
 */
public final class EncoderSideBySide {
    private EncoderSideBySide() {}

    public static void main(String[] args) throws Exception {
        int batch = args.length > 0 ? Integer.parseInt(args[0]) : 1;
        int len = args.length > 1 ? Integer.parseInt(args[1]) : 128;
        double measureSeconds = args.length > 2 ? Double.parseDouble(args[2]) : 120;
        double warmupSeconds = args.length > 3 ? Double.parseDouble(args[3]) : 40;
        EncoderBenchmark b = new EncoderBenchmark();
        b.batch = batch;
        b.len = len;
        b.impl = "realm";
        b.setup(); // loads both, checks they agree to 1e-4
        // a round is about half a second of each side (MiniLM: ~16 ms per 128 tokens here)
        int perRound = Math.max(1, (int) Math.round(500.0 / (16.0 * batch * len / 128)));
        org.realmjava.transformer.bert.BertEncoder bf16 = b.encoder.withBf16Weights();
        List<Callable<Object>> sides = List.of(b::realm, () -> {
            try (var g = org.realmjava.tensor.Autograd.noGrad()) {
                return bf16.forward(b.ids, b.types, b.mask, null);
            }
        }, b::ort);
        List<List<Double>> times = List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
        long warmEnd = System.nanoTime() + (long) (warmupSeconds * 1e9);
        while (System.nanoTime() < warmEnd) for (Callable<Object> side : sides) round(side, perRound, null);
        long end = System.nanoTime() + (long) (measureSeconds * 1e9);
        for (int r = 0; System.nanoTime() < end; r++) {
            for (int i = 0; i < sides.size(); i++) {
                int s = (r + i) % sides.size(); // the order rotates from round to round
                round(sides.get(s), perRound, times.get(s));
            }
        }
        b.tearDown();
        String[] names = {"realm", "realm-bf16", "ort"};
        double[] theirs = stats(times.get(2));
        for (int i = 0; i < 3; i++) {
            double[] st = stats(times.get(i));
            System.out.printf("%s batch=%d len=%d forwards=%d median_ms=%.3f mean_ms=%.3f p10_ms=%.3f%n", names[i], batch, len, times.get(i).size(), st[0], st[1], st[2]);
        }
        for (int i = 0; i < 2; i++) {
            double[] st = stats(times.get(i));
            System.out.printf("ratio-%s batch=%d len=%d median=%.3f mean=%.3f p10=%.3f%n", names[i], batch, len, theirs[0] / st[0], theirs[1] / st[1], theirs[2] / st[2]);
        }
    }

    private static void round(Callable<Object> side, int n, List<Double> into) throws Exception {
        Thread.sleep(20); // let the other side's spinning pool threads go idle
        for (int i = 0; i < n; i++) {
            long t0 = System.nanoTime();
            Object out = side.call();
            double ms = (System.nanoTime() - t0) / 1e6;
            if (out == null) throw new IllegalStateException("no output");
            if (into != null) into.add(ms);
        }
    }

    /** median, mean, 10th percentile. */
    private static double[] stats(List<Double> xs) {
        double[] v = xs.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return new double[] {v[v.length / 2], Arrays.stream(v).average().orElseThrow(), v[v.length / 10]};
    }
}
