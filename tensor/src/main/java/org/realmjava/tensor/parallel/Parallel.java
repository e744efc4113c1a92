package org.realmjava.tensor.parallel;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A fixed pool sized to the cores, created once; no thread is created per call.
 *
 * <p>{@link #forRange} splits [0, n) into at most {@link #threads()} contiguous chunks; the
 * caller runs the first chunk itself. Calls made from inside a worker run serially, so a
 * parallel kernel called from a parallel loop never oversubscribes the cores. The split depends
 * only on n and the thread count, so results are deterministic for a given thread count.
 */
public final class Parallel {
    private static final int THREADS = Math.max(1, Integer.getInteger("realm.threads", Runtime.getRuntime().availableProcessors()));
    private static final ThreadLocal<Boolean> IN_WORKER = ThreadLocal.withInitial(() -> false);
    private static final ExecutorService POOL = THREADS == 1 ? null : Executors.newFixedThreadPool(THREADS - 1, r -> {
        Thread t = new Thread(() -> {
            IN_WORKER.set(true);
            r.run();
        }, "realm-worker");
        t.setDaemon(true);
        return t;
    });

    /** Body of a parallel loop over the half-open range [start, end). */
    @FunctionalInterface
    public interface RangeBody {
        void run(long start, long end);
    }

    private Parallel() {}

    /** True inside a parallel loop (where nested work runs serially). */
    public static boolean inWorker() {
        return IN_WORKER.get();
    }

    public static int threads() {
        return THREADS;
    }

    /** Runs body over [0, n) in parallel when n >= minPerThread * 2; otherwise in the caller. */
    public static void forRange(long n, long minPerThread, RangeBody body) {
        int chunks = (int) Math.min(THREADS, n / Math.max(1, minPerThread));
        if (chunks <= 1 || POOL == null || IN_WORKER.get()) {
            if (n > 0) body.run(0, n);
            return;
        }
        CountDownLatch done = new CountDownLatch(chunks - 1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        for (int c = 1; c < chunks; c++) {
            long s = n * c / chunks, e = n * (c + 1) / chunks;
            POOL.execute(() -> {
                try {
                    body.run(s, e);
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                } finally {
                    done.countDown();
                }
            });
        }
        boolean wasWorker = IN_WORKER.get();
        IN_WORKER.set(true); // nested calls from the caller's chunk stay serial too
        try {
            body.run(0, n / chunks);
        } finally {
            IN_WORKER.set(wasWorker);
        }
        try {
            done.await();
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for parallel work", ie);
        }
        Throwable t = failure.get();
        if (t instanceof RuntimeException re) throw re;
        if (t instanceof Error er) throw er;
        if (t != null) throw new IllegalStateException(t);
    }
}
