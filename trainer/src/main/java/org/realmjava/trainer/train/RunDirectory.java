package org.realmjava.trainer.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.realmjava.tensor.parallel.Parallel;
import org.realmjava.trainer.checkpoint.CheckpointDirectory;
import org.realmjava.trainer.checkpoint.Checksums;
import org.realmjava.trainer.config.ConfigException;

/**
 * A run's checkpoint_dir as a run opens it, before anything heavy is loaded: half-written
 * checkpoints of a killed run removed, the newest checkpoint and its {@link RunState} found, and
 * that state checked against this run (kind and model now; data and settings once the run has read
 * them, {@link #requireSameInputs}). A failure is one line and leaves the folder as it was.
 */
public final class RunDirectory {
    private final Path dir;
    private final String kind;
    private final Path latest;
    private final RunState state;

    private RunDirectory(Path dir, String kind, Path latest, RunState state) {
        this.dir = dir;
        this.kind = kind;
        this.latest = latest;
        this.state = state;
    }

    /**
     * Opens a run of a kind with a model key; threads: the config's (the worker pool must already
     * run that many). The checkpoint to resume is the newest whose files match their checksums: a
     * damaged one is reported in one line and moved aside as step-NNNNNNN.corrupt; when every one
     * is damaged the run stops with one line.
     */
    public static RunDirectory open(Path dir, String kind, int threads, String modelKey, TrainingListener listener) throws IOException {
        requireThreads(threads);
        if (Files.exists(dir) && !Files.isDirectory(dir)) throw new ConfigException("checkpoint_dir " + dir + " exists and is not a directory");
        CheckpointDirectory.removeTemporaries(dir);
        Path latest = null;
        java.util.List<Path> all = CheckpointDirectory.list(dir);
        int damaged = 0;
        for (int i = all.size() - 1; i >= 0 && latest == null; i--) {
            String problem = Checksums.problem(all.get(i));
            if (problem == null) {
                latest = all.get(i);
                if (damaged > 0) listener.info("falling back to " + latest.getFileName() + ", the newest checkpoint whose files verify");
            } else {
                Path aside = CheckpointDirectory.moveAside(all.get(i));
                listener.info(all.get(i).getFileName() + " is damaged: " + problem + "; moved aside as " + aside.getFileName());
                damaged++;
            }
        }
        if (latest == null && damaged > 0) {
            throw new ConfigException("checkpoint_dir " + dir + ": every checkpoint is damaged (" + damaged + " moved aside as *.corrupt); nothing to resume");
        }
        RunState state = latest == null ? null : RunState.read(latest);
        if (state != null) state.requireSameRun(dir, kind, modelKey);
        return new RunDirectory(dir, kind, latest, state);
    }

    public Path dir() {
        return dir;
    }

    public String kind() {
        return kind;
    }

    /** The checkpoint to resume from, or null for a fresh run. */
    public Path latest() {
        return latest;
    }

    public boolean resuming() {
        return latest != null;
    }

    /** The resumed checkpoint's state (null for a fresh run). */
    public RunState state() {
        return state;
    }

    /** Refuses to resume on other data or settings (nothing to check for a fresh run). */
    public void requireSameInputs(String dataKey, ObjectNode settings) {
        if (state != null) state.requireSameInputs(dir, dataKey, settings);
    }

    /** Creates the folder: called once everything that can fail on bad input has been read. */
    public void create() throws IOException {
        Files.createDirectories(dir);
    }

    /** Fails unless the worker pool runs {@code wanted} threads (it is sized once per JVM). */
    public static void requireThreads(int wanted) {
        if (Parallel.threads() != wanted) {
            throw new IllegalStateException("threads: the worker pool already runs " + Parallel.threads() + " threads; set realm.threads=" + wanted
                    + " before the first tensor op (the CLI does)");
        }
    }
}
