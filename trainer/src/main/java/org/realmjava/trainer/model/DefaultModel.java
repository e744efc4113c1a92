package org.realmjava.trainer.model;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The built-in encoder, all-MiniLM-L6-v2, from the Maven artifact on the class path (its ONNX
 * file and tokenizer.json). The files are copied once into a cache folder
 * ($XDG_CACHE_HOME or ~/.cache, then realm-java/), atomically, because the loaders read paths.
 */
public final class DefaultModel {
    public static final String ONNX = "all-minilm-l6-v2.onnx";
    public static final String TOKENIZER = "all-minilm-l6-v2-tokenizer.json";

    private DefaultModel() {}

    public static Path file(String resource) throws IOException {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path dir = (xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache")).resolve("realm-java");
        Path target = dir.resolve(resource);
        long expected;
        try (InputStream probe = DefaultModel.class.getClassLoader().getResourceAsStream(resource)) {
            if (probe == null) throw new IllegalStateException("the default model file " + resource + " is not on the class path");
            var url = DefaultModel.class.getClassLoader().getResource(resource);
            expected = url.openConnection().getContentLengthLong();
        }
        if (Files.exists(target) && (expected < 0 || Files.size(target) == expected)) return target;
        Files.createDirectories(dir);
        Path tmp = org.realmjava.io.TempFiles.create(dir, "." + resource, ".tmp");
        try (InputStream in = DefaultModel.class.getClassLoader().getResourceAsStream(resource)) {
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            try (var ch = java.nio.channels.FileChannel.open(tmp, java.nio.file.StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
        return target;
    }
}
