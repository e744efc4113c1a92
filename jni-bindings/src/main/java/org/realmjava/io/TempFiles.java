package org.realmjava.io;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Temporary files for atomic writes (write, fsync, rename over the target) that end up with the
 * permissions the user's umask gives, like any file the user creates: {@link Files#createTempFile}
 * makes them 0600, so an index or checkpoint renamed from one could not be read by another user or
 * a service. In the lowest module so that every module writes files the same way.
 */
public final class TempFiles {
    private TempFiles() {}

    /** A new empty file dir/prefix + random + suffix (created exclusively, default permissions). */
    public static Path create(Path dir, String prefix, String suffix) throws IOException {
        for (int attempt = 0; ; attempt++) {
            Path p = dir.resolve(prefix + Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36) + suffix);
            try {
                return Files.createFile(p);
            } catch (FileAlreadyExistsException e) {
                if (attempt > 100) throw e;
            }
        }
    }
}
