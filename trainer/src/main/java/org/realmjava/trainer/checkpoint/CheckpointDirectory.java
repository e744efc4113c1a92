package org.realmjava.trainer.checkpoint;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.realmjava.mips.AtomicFiles;

/**
 * A run's checkpoints: {@code step-0000123/} directories under the run's checkpoint_dir, each
 * written whole into {@code .tmp-step-0000123/}, every file fsynced, then renamed into place and
 * the parent fsynced, so a checkpoint directory either exists complete or not at all (kill -9 at
 * any moment leaves at worst a temporary directory, removed on the next start). Its last file is
 * {@link Checksums}' list of every other file. The newest N are kept.
 */
public final class CheckpointDirectory {
    private static final Pattern STEP = Pattern.compile("step-(\\d{7,})");
    private static final String TMP_PREFIX = ".tmp-";

    private CheckpointDirectory() {}

    /** Writes the files of one checkpoint into a directory. */
    @FunctionalInterface
    public interface Writer {
        void write(Path dir) throws IOException;
    }

    public static String name(long step) {
        return String.format("step-%07d", step);
    }

    /** The step of a checkpoint directory's name, or -1. */
    public static long stepOf(Path dir) {
        Matcher m = STEP.matcher(dir.getFileName().toString());
        return m.matches() ? Long.parseLong(m.group(1)) : -1;
    }

    /** Checkpoints of a run, oldest first. */
    public static List<Path> list(Path runDir) {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(runDir)) return out;
        try (Stream<Path> s = Files.list(runDir)) {
            s.filter(p -> Files.isDirectory(p) && stepOf(p) >= 0).sorted(Comparator.comparingLong(CheckpointDirectory::stepOf)).forEach(out::add);
        } catch (IOException e) {
            throw new IllegalArgumentException(runDir + ": cannot list: " + e.getMessage());
        }
        return out;
    }

    /** The newest checkpoint of a run, or null. */
    public static Path latest(Path runDir) {
        List<Path> all = list(runDir);
        return all.isEmpty() ? null : all.get(all.size() - 1);
    }

    /** Removes what a killed run left half-written. */
    public static void removeTemporaries(Path runDir) throws IOException {
        if (!Files.isDirectory(runDir)) return;
        try (Stream<Path> s = Files.list(runDir)) {
            for (Path p : s.filter(p -> p.getFileName().toString().startsWith(TMP_PREFIX)).toList()) deleteTree(p);
        }
    }

    /** Writes checkpoint {@code step} atomically, then keeps only the newest {@code keep}. Returns its path. */
    public static Path write(Path runDir, long step, int keep, Writer writer) throws IOException {
        Files.createDirectories(runDir);
        Path target = runDir.resolve(name(step)), tmp = runDir.resolve(TMP_PREFIX + name(step));
        deleteTree(tmp);
        Files.createDirectories(tmp);
        writer.write(tmp);
        Checksums.write(tmp); // last: it lists every file above
        syncTree(tmp);
        if (Files.exists(target)) deleteTree(target); // a rerun from an older checkpoint rewrites this step
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        AtomicFiles.syncDirectory(runDir);
        List<Path> all = list(runDir);
        for (int i = 0; i < all.size() - keep; i++) deleteTree(all.get(i));
        return target;
    }

    /**
     * Moves a damaged checkpoint out of the run's way (kept, not deleted, for a look):
     * step-NNNNNNN becomes step-NNNNNNN.corrupt (.corrupt-2, ... if that exists). Returns the new path.
     */
    public static Path moveAside(Path checkpoint) throws IOException {
        Path target = checkpoint.resolveSibling(checkpoint.getFileName() + ".corrupt");
        for (int i = 2; Files.exists(target); i++) target = checkpoint.resolveSibling(checkpoint.getFileName() + ".corrupt-" + i);
        Files.move(checkpoint, target, StandardCopyOption.ATOMIC_MOVE);
        AtomicFiles.syncDirectory(checkpoint.getParent());
        return target;
    }

    private static void syncTree(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.toList()) {
                if (Files.isRegularFile(p)) {
                    try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
                        ch.force(true);
                    }
                } else if (Files.isDirectory(p)) {
                    AtomicFiles.syncDirectory(p);
                }
            }
        }
    }

    /** Deletes a file or a directory tree. */
    public static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(q);
        }
    }
}
