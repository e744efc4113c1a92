package org.realmjava.trainer.retrieval;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.realmjava.mips.FlatIndex;
import org.realmjava.mips.FloatMatrix;
import org.realmjava.mips.IndexWriter;
import org.realmjava.mips.RefreshableIndex;
import org.realmjava.mips.VectorDType;
import org.realmjava.mips.VectorSource;
import org.realmjava.trainer.model.RealmModel;

/**
 * REALM's asynchronous index refresh. {@link #start} hands a snapshot of the document tower to a
 * background thread, which re-embeds every block and writes a new index generation (mips
 * generations: temp file, fsync, rename) while training goes on with the live one; {@link #swapIn}
 * waits for it (the wait is what the overlap failed to hide) and makes it live in the
 * {@link RefreshableIndex}. A generation keeps its vectors so that a checkpoint can store exactly
 * the index in use and the one in flight.
 */
public final class IndexRefresher implements AutoCloseable {
    /** An index generation: its vectors, the step whose document tower made them, how long the embedding took. */
    public record Generation(float[] vectors, long snapshotStep, double seconds) {}

    private final Path indexDir;
    private final BlockInputs blocks;
    private final int sepId, batch, dim;
    private final ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "realm-index-refresh");
        t.setDaemon(true);
        return t;
    });
    private RefreshableIndex live;
    private Generation liveGeneration;
    private Future<Generation> pending;
    private long pendingStep = -1;
    private long published = -1;

    public IndexRefresher(Path indexDir, BlockInputs blocks, int sepId, int batch, int dim) {
        this.indexDir = indexDir;
        this.blocks = blocks;
        this.sepId = sepId;
        this.batch = batch;
        this.dim = dim;
    }

    /** Embeds every block now, on the calling thread (the index before step 0). */
    public Generation embed(RealmModel.DocumentTower tower, long snapshotStep, java.util.function.LongConsumer progress) {
        long t0 = System.nanoTime();
        float[] v = DocumentEmbedder.embed(tower, blocks, sepId, batch, progress);
        return new Generation(v, snapshotStep, (System.nanoTime() - t0) / 1e9);
    }

    /** Makes g the live generation (writes its index file first). */
    public void publish(Generation g) {
        FlatIndex index = write(g);
        if (live == null) live = new RefreshableIndex(index);
        else live.swap(index);
        liveGeneration = g;
        published++;
    }

    /** Makes a generation that a checkpoint saved live again, under its old generation number. */
    public void restoreLive(Generation g, long generationNumber) {
        publish(g);
        published = generationNumber;
    }

    private FlatIndex write(Generation g) {
        try {
            Path file = IndexWriter.build(indexDir, VectorSource.of(new FloatMatrix(g.vectors(), blocks.size(), dim)), VectorDType.F32, null,
                    IndexWriter.Progress.NONE);
            return FlatIndex.open(file, false);
        } catch (IOException e) {
            throw new UncheckedIOException("index refresh: cannot write " + indexDir + ": " + e.getMessage(), e);
        }
    }

    /** Starts re-embedding with a snapshot in the background; at most one refresh runs at a time. */
    public void start(RealmModel.DocumentTower snapshot, long snapshotStep) {
        if (pending != null) throw new IllegalStateException("index refresh: one is already running (from step " + pendingStep + ")");
        pendingStep = snapshotStep;
        pending = worker.submit(() -> embed(snapshot, snapshotStep, null));
    }

    /** Puts back a refresh that a checkpoint saved (its vectors are known: nothing to run). */
    public void restorePending(Generation g) {
        pendingStep = g.snapshotStep();
        pending = java.util.concurrent.CompletableFuture.completedFuture(g);
    }

    public boolean hasPending() {
        return pending != null;
    }

    public boolean pendingDone() {
        return pending != null && pending.isDone();
    }

    /** Waits for the running refresh and returns it, without making it live (for a checkpoint); null when none runs. */
    public Generation awaitPending() {
        if (pending == null) return null;
        try {
            return pending.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the index refresh", e);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException r) throw r;
            throw new IllegalStateException("index refresh failed: " + c, c);
        }
    }

    /** Waits for the running refresh and makes it live; returns it (null when none ran). */
    public Generation swapIn() {
        Generation g = awaitPending();
        if (g == null) return null;
        pending = null;
        pendingStep = -1;
        publish(g);
        return g;
    }

    public RefreshableIndex index() {
        return live;
    }

    public Generation liveGeneration() {
        return liveGeneration;
    }

    /** The generation number of the live index (0 for the first, +1 per refresh made live). */
    public long generationNumber() {
        return published;
    }

    @Override
    public void close() {
        worker.shutdownNow();
        if (live != null) live.close();
    }
}
