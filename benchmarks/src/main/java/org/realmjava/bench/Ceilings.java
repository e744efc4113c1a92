package org.realmjava.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.Locale;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The two ceilings that kernel figures are set against, at the vector width this JVM offers (run
 * it with -XX:UseAVX=2 for the AVX2 ceilings on an AVX-512 machine):
 * <ul>
 * <li>FMA: 12 independent accumulator chains per thread (a += x * y, as the kernels accumulate),
 *     nothing else in the loop (12 cover the latency x throughput product of every x86 core we run
 *     on; 8 measured the same);
 * <li>read bandwidth: sums over a buffer far larger than the caches, one slice per thread, 4
 *     vector chains (what a streaming scan can at best read).
 * </ul>
 * Prints the best of several rounds for 1 and for all threads. Usage: Ceilings [threads=2] [bufferMB=1024]
 */
public final class Ceilings {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private Ceilings() {}

    static float fmaLoop(long iters) {
        // the kernels' form, a += x * y, each chain from its own start. Measured on a Zen 1 (one 256-bit FMA a cycle):
        // a = a * x + y from one shared start gave 21-25 GFLOP/s a core; C2 then copies the invariant addend before each
        // FMA and may merge equal chains. This form gives 37-39, as C does with distinct chains (40).
        FloatVector a0 = start(0), a1 = start(1), a2 = start(2), a3 = start(3), a4 = start(4), a5 = start(5), a6 = start(6), a7 = start(7),
                a8 = start(8), a9 = start(9), a10 = start(10), a11 = start(11);
        FloatVector x = FloatVector.broadcast(S, 0.999999f), y = FloatVector.broadcast(S, 1e-7f);
        for (long i = 0; i < iters; i++) {
            a0 = x.fma(y, a0);
            a1 = x.fma(y, a1);
            a2 = x.fma(y, a2);
            a3 = x.fma(y, a3);
            a4 = x.fma(y, a4);
            a5 = x.fma(y, a5);
            a6 = x.fma(y, a6);
            a7 = x.fma(y, a7);
            a8 = x.fma(y, a8);
            a9 = x.fma(y, a9);
            a10 = x.fma(y, a10);
            a11 = x.fma(y, a11);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11).reduceLanes(VectorOperators.ADD);
    }

    private static FloatVector start(int chain) {
        return FloatVector.broadcast(S, 0.5f + chain / 16f);
    }

    static float readLoop(MemorySegment s, long from, long to) {
        int step = S.vectorByteSize();
        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
        for (long o = from; o + 4L * step <= to; o += 4L * step) {
            a0 = a0.add(FloatVector.fromMemorySegment(S, s, o, ByteOrder.LITTLE_ENDIAN));
            a1 = a1.add(FloatVector.fromMemorySegment(S, s, o + step, ByteOrder.LITTLE_ENDIAN));
            a2 = a2.add(FloatVector.fromMemorySegment(S, s, o + 2L * step, ByteOrder.LITTLE_ENDIAN));
            a3 = a3.add(FloatVector.fromMemorySegment(S, s, o + 3L * step, ByteOrder.LITTLE_ENDIAN));
        }
        return a0.add(a1).add(a2).add(a3).reduceLanes(VectorOperators.ADD);
    }

    /** Seconds for body(t) on t = 0..threads-1 at once. */
    private static double timed(int threads, java.util.function.IntConsumer body) throws InterruptedException {
        Thread[] ts = new Thread[threads];
        long t0 = System.nanoTime();
        for (int t = 0; t < threads; t++) {
            int id = t;
            ts[t] = new Thread(() -> body.accept(id));
            ts[t].start();
        }
        for (Thread t : ts) t.join();
        return (System.nanoTime() - t0) / 1e9;
    }

    public static void main(String[] args) throws Exception {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 2;
        long bytes = (args.length > 1 ? Long.parseLong(args[1]) : 1024) << 20;
        long iters = 100_000_000L;
        MemorySegment buf = Arena.global().allocate(bytes, 4096);
        for (long o = 0; o < bytes; o += 4096) buf.set(java.lang.foreign.ValueLayout.JAVA_BYTE, o, (byte) 1); // fault the pages in
        System.out.printf(Locale.ROOT, "vector width %d bits (%d float lanes)%n", S.vectorBitSize(), S.length());
        for (int t : new int[] {1, threads}) {
            double bestFma = 0, bestRead = 0;
            for (int round = 0; round < 5; round++) {
                double s = timed(t, id -> fmaLoop(iters));
                bestFma = Math.max(bestFma, t * iters * 12.0 * 2 * S.length() / s / 1e9);
                int tt = t;
                double r = timed(t, id -> readLoop(buf, bytes * id / tt, bytes * (id + 1) / tt));
                bestRead = Math.max(bestRead, bytes / r / 1e9);
            }
            System.out.printf(Locale.ROOT, "threads %d: FMA %.1f GFLOP/s, read %.1f GB/s%n", t, bestFma, bestRead);
        }
    }
}
