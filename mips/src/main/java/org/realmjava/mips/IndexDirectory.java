package org.realmjava.mips;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * An index directory holds generations: {@code gen-000001/vectors.rix}, {@code gen-000002/...},
 * and a file {@code CURRENT} naming the live one. A build writes a new generation completely
 * (fsynced), then replaces CURRENT atomically: a crash at any point leaves the previous
 * generation live and intact. Older generations are deleted after the switch.
 */
public final class IndexDirectory {
    public static final String CURRENT = "CURRENT";
    public static final String VECTORS = "vectors.rix";
    private static final Pattern GEN = Pattern.compile("gen-(\\d{6})");

    private IndexDirectory() {}

    /** The index file of the live generation of dir, or dir itself when it is an index file. */
    public static Path currentFile(Path dir) {
        if (Files.isRegularFile(dir)) return dir;
        if (!Files.isDirectory(dir)) throw new IndexFormatException(dir, "no such index directory");
        Path cur = dir.resolve(CURRENT);
        if (!Files.exists(cur)) throw new IndexFormatException(dir, "not an index directory (no " + CURRENT + " file)");
        String gen;
        try {
            gen = Files.readString(cur, StandardCharsets.US_ASCII).trim();
        } catch (IOException e) {
            throw new IndexFormatException(cur, "cannot read: " + e.getMessage(), e);
        }
        if (!GEN.matcher(gen).matches()) throw new IndexFormatException(cur, "does not name a generation ('" + gen + "')");
        Path f = dir.resolve(gen).resolve(VECTORS);
        if (!Files.exists(f)) throw new IndexFormatException(f, "missing (named by " + CURRENT + ")");
        return f;
    }

    static List<Integer> generations(Path dir) throws IOException {
        List<Integer> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) return out;
        try (var s = Files.newDirectoryStream(dir)) {
            for (Path p : s) {
                var m = GEN.matcher(p.getFileName().toString());
                if (m.matches()) out.add(Integer.parseInt(m.group(1)));
            }
        }
        out.sort(null);
        return out;
    }

    /** A fresh generation folder name (one past the highest present). */
    static Path newGeneration(Path dir) throws IOException {
        if (Files.exists(dir) && !Files.isDirectory(dir)) throw new IndexFormatException(dir, "exists and is not a directory");
        if (Files.isDirectory(dir) && !Files.exists(dir.resolve(CURRENT))) {
            try (var s = Files.list(dir)) {
                if (s.findAny().isPresent()) throw new IndexFormatException(dir, "exists, is not empty and is not an index directory; refusing to write into it");
            }
        }
        Files.createDirectories(dir);
        List<Integer> gens = generations(dir);
        int next = gens.isEmpty() ? 1 : gens.get(gens.size() - 1) + 1;
        return dir.resolve(String.format("gen-%06d", next));
    }

    /** Makes gen the live generation and deletes the older ones. */
    static void publish(Path dir, Path gen) throws IOException {
        AtomicFiles.write(dir.resolve(CURRENT), ByteBuffer.wrap((gen.getFileName() + "\n").getBytes(StandardCharsets.US_ASCII)));
        int live = Integer.parseInt(gen.getFileName().toString().substring(4));
        for (int g : generations(dir)) {
            if (g == live) continue;
            Path old = dir.resolve(String.format("gen-%06d", g));
            try (var s = Files.walk(old)) {
                for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // a generation still mapped elsewhere may not delete on some systems; it is harmless garbage
            }
        }
    }
}
