package org.realmjava.serve;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.IntConsumer;
import org.realmjava.trainer.qa.OpenQa;

/**
 * Answers questions for many callers at once with one model: callers enqueue, one worker thread
 * takes everything waiting (up to {@code maxBatch}) and answers it as one batch (one pass of the
 * query tower and one MIPS search for all of them, then each question's reading). While a batch
 * runs the next one gathers, so batches grow with the load and no caller holds a lock around a
 * whole question. Every op of a batch already uses all of the engine's worker threads: running
 * two batches side by side would only make them share the cores.
 *
 * <p>The queue is bounded: {@link #submit} refuses a question when {@code queueCapacity} are
 * waiting ({@link Overloaded}: the server answers 503) rather than letting latency grow without
 * bound; {@link #submitWaiting} (the library's {@code Realm.ask}) waits for room instead.
 *
 * <p>{@link #retire} stops new questions (a caller then gets {@link Retired} and asks the next
 * generation), answers everything already queued, then closes the index: a hot swap in which no
 * request fails.
 */
public final class AnswerService implements AutoCloseable {
    /** The queue is full: try again later (HTTP 503). */
    public static final class Overloaded extends RuntimeException {
        Overloaded(int capacity) {
            super("the server is busy: " + capacity + " questions are waiting; try again shortly");
        }
    }

    /** This service no longer takes questions (it was swapped out): ask the current one. */
    public static final class Retired extends RuntimeException {
        Retired() {
            super("this model generation was retired");
        }
    }

    /** The blocks a question retrieves, best first, with p(z|x) over them and the raw score. */
    public record Hit(int block, String title, String text, double retrievalProbability, double score) {}

    /** One question waiting: ask (answer and evidence) or retrieve (blocks only). */
    private record Job(String question, int k, boolean retrieveOnly, CompletableFuture<Object> result) {}

    private static final Job STOP = new Job(null, 0, false, null);

    private final OpenQa qa;
    private final int maxBatch, queueCapacity;
    private final BlockingQueue<Job> queue;
    private final Thread worker;
    private final CountDownLatch done = new CountDownLatch(1);
    private final IntConsumer batchSizes;
    private volatile boolean retired;

    /** batchSizes hears the size of every batch answered (for metrics; may be a no-op). */
    public AnswerService(OpenQa qa, int maxBatch, int queueCapacity, IntConsumer batchSizes) {
        if (maxBatch < 1) throw new IllegalArgumentException("max batch must be at least 1, got " + maxBatch);
        if (queueCapacity < 1) throw new IllegalArgumentException("queue capacity must be at least 1, got " + queueCapacity);
        this.qa = qa;
        this.maxBatch = maxBatch;
        this.queueCapacity = queueCapacity;
        this.queue = new ArrayBlockingQueue<>(queueCapacity + 1); // + 1: room for STOP
        this.batchSizes = batchSizes;
        this.worker = Thread.ofPlatform().name("realm-answers").daemon(true).start(this::work);
    }

    public OpenQa openQa() {
        return qa;
    }

    /** Questions waiting for the worker. */
    public int queued() {
        return queue.size();
    }

    /** Enqueues a question; refuses it (Overloaded) when the queue is full, Retired after {@link #retire}. */
    @SuppressWarnings("unchecked")
    public CompletableFuture<OpenQa.Prediction> submit(String question, int k) {
        return (CompletableFuture<OpenQa.Prediction>) (CompletableFuture<?>) enqueue(question, k, false, false);
    }

    /** Enqueues a retrieval (blocks only), as {@link #submit}. */
    @SuppressWarnings("unchecked")
    public CompletableFuture<List<Hit>> submitRetrieve(String question, int k) {
        return (CompletableFuture<List<Hit>>) (CompletableFuture<?>) enqueue(question, k, true, false);
    }

    /** Enqueues a question, waiting for room in the queue instead of refusing it. */
    @SuppressWarnings("unchecked")
    public CompletableFuture<OpenQa.Prediction> submitWaiting(String question, int k) {
        return (CompletableFuture<OpenQa.Prediction>) (CompletableFuture<?>) enqueue(question, k, false, true);
    }

    private CompletableFuture<Object> enqueue(String question, int k, boolean retrieveOnly, boolean wait) {
        if (retired) throw new Retired();
        Job job = new Job(question, k, retrieveOnly, new CompletableFuture<>());
        boolean taken;
        if (wait) {
            try {
                while (!(taken = queue.offer(job, 50, TimeUnit.MILLISECONDS))) {
                    if (retired) throw new Retired();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for room in the queue", e);
            }
        } else {
            taken = queue.size() < queueCapacity && queue.offer(job);
        }
        if (!taken) throw new Overloaded(queueCapacity);
        // retire() may have run between the check above and the offer: its STOP is then ahead of
        // this job or behind it; the worker answers everything before STOP and fails what is after
        // it with Retired, which the caller treats like a refusal before enqueueing
        return job.result();
    }

    private void work() {
        try {
            List<Job> batch = new ArrayList<>(maxBatch);
            boolean stop = false;
            while (!stop) {
                batch.clear();
                Job first = queue.take();
                if (first == STOP) break;
                batch.add(first);
                while (batch.size() < maxBatch) {
                    Job next = queue.poll();
                    if (next == null) break;
                    if (next == STOP) {
                        stop = true;
                        break;
                    }
                    batch.add(next);
                }
                answer(batch);
            }
            // questions that arrived behind STOP: the caller asks the next generation
            for (Job j; (j = queue.poll()) != null; ) if (j != STOP) j.result().completeExceptionally(new Retired());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            for (Job j; (j = queue.poll()) != null; ) if (j != STOP) j.result().completeExceptionally(new Retired());
        } finally {
            done.countDown();
        }
    }

    /** One batch: the questions of each k together through the query tower and the index. */
    private void answer(List<Job> batch) {
        batchSizes.accept(batch.size());
        Map<String, List<Job>> groups = new LinkedHashMap<>();
        for (Job j : batch) groups.computeIfAbsent(j.k() + (j.retrieveOnly() ? "r" : "a"), x -> new ArrayList<>()).add(j);
        for (List<Job> g : groups.values()) {
            int k = g.get(0).k();
            List<String> questions = g.stream().map(Job::question).toList();
            try {
                if (g.get(0).retrieveOnly()) {
                    List<List<Hit>> hits = retrieve(questions, k);
                    for (int i = 0; i < g.size(); i++) g.get(i).result().complete(hits.get(i));
                } else {
                    List<OpenQa.Prediction> answers = qa.predict(questions, k);
                    for (int i = 0; i < g.size(); i++) g.get(i).result().complete(answers.get(i));
                }
            } catch (RuntimeException | Error e) {
                for (Job j : g) j.result().completeExceptionally(e);
            }
        }
    }

    private List<List<Hit>> retrieve(List<String> questions, int k) {
        try (var g = org.realmjava.tensor.Autograd.noGrad()) {
            List<int[]> q = questions.stream().map(qa::encodeQuestion).toList();
            var qv = qa.queryVectors(q, null);
            int[][] cands = qa.search(qv, k);
            List<List<Hit>> out = new ArrayList<>(questions.size());
            for (int i = 0; i < cands.length; i++) {
                if (cands[i].length == 0) {
                    out.add(List.of());
                    continue;
                }
                // p(z|x): the softmax of the same scores (OpenQa.priors computes it so)
                float[] scores = qa.retrievalScores(qv.narrow(0, i, 1), new int[][] {cands[i]}).toFloatArray();
                double[] prior = org.realmjava.trainer.train.Softmax.of(scores, 0, scores.length);
                List<Hit> hits = new ArrayList<>(cands[i].length);
                for (int j = 0; j < cands[i].length; j++) {
                    var b = qa.blocks.get(cands[i][j]);
                    hits.add(new Hit(cands[i][j], b.title(), b.text(), prior[j], scores[j]));
                }
                out.add(hits);
            }
            return out;
        }
    }

    /** Takes no more questions, answers those queued, then closes the index. Waits at most timeoutMs for the queue to drain. */
    public boolean retire(long timeoutMs) {
        retired = true;
        try {
            queue.put(STOP);
            boolean drained = done.await(timeoutMs, TimeUnit.MILLISECONDS);
            if (drained) qa.index.close();
            return drained;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    @Override
    public void close() {
        if (!retired) retire(60_000);
    }
}
