package org.realmjava.trainer.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * {@code checksums.json} of a checkpoint: every file in it (relative path, size in bytes, CRC32C),
 * written last inside the checkpoint's atomic write ({@link CheckpointDirectory#write}). CRC32C and
 * not SHA-256: damage on disk or in a copy is random, not adversarial, and CRC32C runs in hardware
 * at memory speed (docs/benchmarks.md, "checkpoint checksums"). {@link #problem} is the check
 * every load makes: a missing, truncated, changed or unlisted file is named in one line.
 */
public final class Checksums {
    public static final String FILE = "checksums.json", FORMAT = "realm-java/checksums/1";
    private static final ObjectMapper JSON = new ObjectMapper();

    private Checksums() {}

    /** Lists every regular file under dir (but this one) with its size and checksum. */
    public static void write(Path dir) throws IOException {
        ObjectNode files = JSON.createObjectNode();
        for (Map.Entry<String, Path> e : files(dir).entrySet()) {
            files.putObject(e.getKey()).put("size", Files.size(e.getValue())).put("crc32c", crc32c(e.getValue()));
        }
        ObjectNode n = JSON.createObjectNode().put("format", FORMAT);
        n.set("files", files);
        Files.writeString(dir.resolve(FILE), n.toPrettyString(), StandardCharsets.UTF_8);
    }

    /** The first thing wrong with dir's files, in a few words naming the file; null when all are intact. */
    public static String problem(Path dir) {
        Path f = dir.resolve(FILE);
        if (!Files.isRegularFile(f)) return FILE + " is missing";
        JsonNode n;
        try {
            n = JSON.readTree(f.toFile());
        } catch (IOException e) {
            return FILE + " is unreadable (" + e.getMessage().lines().findFirst().orElse("") + ")";
        }
        if (n == null || !FORMAT.equals(n.path("format").asText()) || !n.path("files").isObject()) return FILE + " is damaged (not a " + FORMAT + " list)";
        Map<String, Path> present;
        try {
            present = files(dir);
        } catch (IOException e) {
            return "cannot list the folder (" + e.getMessage() + ")";
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = n.get("files").fields(); it.hasNext(); ) {
            var e = it.next();
            Path p = present.remove(e.getKey());
            if (p == null) return e.getKey() + " is missing";
            long size = e.getValue().path("size").asLong(-1);
            try {
                long actual = Files.size(p);
                if (actual != size) return e.getKey() + " has " + actual + " bytes, " + size + " were written";
                if (!crc32c(p).equals(e.getValue().path("crc32c").asText())) return e.getKey() + " does not match its checksum (its bytes changed)";
            } catch (IOException x) {
                return e.getKey() + " is unreadable (" + x.getMessage() + ")";
            }
        }
        if (!present.isEmpty()) return present.keySet().iterator().next() + " was not written with the checkpoint";
        return null;
    }

    /** Fails with one line naming dir and what is wrong, unless its files are intact. */
    public static void requireIntact(Path dir) {
        String p = problem(dir);
        if (p != null) throw new DamagedCheckpointException(dir + " is damaged: " + p);
    }

    /** A checkpoint whose files do not match their checksums. */
    public static final class DamagedCheckpointException extends IllegalArgumentException {
        public DamagedCheckpointException(String message) {
            super(message);
        }
    }

    private static Map<String, Path> files(Path dir) throws IOException {
        Map<String, Path> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                String rel = dir.relativize(p).toString().replace('\\', '/');
                if (!rel.equals(FILE)) out.put(rel, p);
            }
        }
        return out;
    }

    /** The CRC32C of a file as 8 hex digits. */
    static String crc32c(Path file) throws IOException {
        CRC32C crc = new CRC32C();
        ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            while (ch.read(buf) >= 0) {
                buf.flip();
                crc.update(buf);
                buf.clear();
            }
        }
        return String.format("%08x", crc.getValue());
    }
}
