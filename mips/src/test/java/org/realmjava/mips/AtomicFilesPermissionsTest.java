package org.realmjava.mips;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.ByteBuffer;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Files written atomically get the permissions of any file the user creates (the umask's), not Files.createTempFile's 0600. */
class AtomicFilesPermissionsTest {
    @TempDir
    Path dir;

    @Test
    void atomicWritesAndIndexesGetTheUmasksPermissions() throws Exception {
        assumeTrue(FileSystems.getDefault().supportedFileAttributeViews().contains("posix"), "needs POSIX permissions");
        var expected = Files.getPosixFilePermissions(Files.createFile(dir.resolve("reference")));
        Path f = dir.resolve("out.bin");
        AtomicFiles.write(f, ByteBuffer.wrap(new byte[] {1, 2, 3}));
        assertEquals(expected, Files.getPosixFilePermissions(f));
        Path index = IndexWriter.build(dir.resolve("index"), new FloatMatrix(new float[] {1, 0, 0, 1}, 2, 2), VectorDType.F32);
        assertEquals(expected, Files.getPosixFilePermissions(index));
    }
}
