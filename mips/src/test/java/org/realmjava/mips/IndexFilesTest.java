package org.realmjava.mips;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Vector file formats, index files, atomic generations, and every way a file can be bad. */
class IndexFilesTest {
    @TempDir
    Path tmp;

    private final Random rng = new Random(11);

    @Test
    void npyAndFvecsRoundTrip() throws Exception {
        FloatMatrix m = SearchParityTest.random(rng, 7, 5, false);
        VectorFiles.writeNpy(tmp.resolve("a.npy"), m);
        VectorFiles.writeFvecs(tmp.resolve("a.fvecs"), m);
        assertArrayEquals(m.data(), VectorFiles.readAll(tmp.resolve("a.npy")).data());
        assertArrayEquals(m.data(), VectorFiles.readAll(tmp.resolve("a.fvecs")).data());
    }

    @Test
    void npyFloat64IsConverted() throws Exception {
        // a float64 .npy, written byte by byte as NumPy does
        String dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }";
        String header = dict + " ".repeat(64 - (10 + dict.length() + 1) % 64) + "\n";
        var buf = java.nio.ByteBuffer.allocate(10 + header.length() + 32).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        buf.put((byte) 0x93).put("NUMPY".getBytes()).put((byte) 1).put((byte) 0).putShort((short) header.length()).put(header.getBytes());
        buf.putDouble(1.5).putDouble(-2).putDouble(0.25).putDouble(4);
        Files.write(tmp.resolve("d.npy"), buf.array());
        assertArrayEquals(new float[] {1.5f, -2f, 0.25f, 4f}, VectorFiles.readAll(tmp.resolve("d.npy")).data());
    }

    private IndexFormatException bad(Path p) {
        return assertThrows(IndexFormatException.class, () -> VectorFiles.readAll(p));
    }

    @Test
    void badVectorFilesNameTheFileAndTheProblem() throws Exception {
        Files.write(tmp.resolve("empty.npy"), new byte[0]);
        assertTrue(bad(tmp.resolve("empty.npy")).getMessage().contains("empty.npy"));
        Files.write(tmp.resolve("junk.npy"), "hello world, not numpy".getBytes());
        assertTrue(bad(tmp.resolve("junk.npy")).getMessage().contains("bad magic"));
        FloatMatrix m = SearchParityTest.random(rng, 4, 3, false);
        VectorFiles.writeNpy(tmp.resolve("t.npy"), m);
        truncate(tmp.resolve("t.npy"), 10);
        assertTrue(bad(tmp.resolve("t.npy")).getMessage().contains("truncated"));
        VectorFiles.writeFvecs(tmp.resolve("t.fvecs"), m);
        truncate(tmp.resolve("t.fvecs"), 3);
        assertTrue(bad(tmp.resolve("t.fvecs")).getMessage().contains("not a multiple"));
        Files.write(tmp.resolve("e.fvecs"), new byte[0]);
        assertTrue(bad(tmp.resolve("e.fvecs")).getMessage().contains("empty"));
        assertTrue(bad(tmp.resolve("missing.npy")).getMessage().contains("no such file"));
    }

    private static void truncate(Path p, int bytes) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(f.length() - bytes);
        }
    }

    @Test
    void nanIsRejectedAtBuildWithItsRow() {
        FloatMatrix m = SearchParityTest.random(rng, 40, 3, false);
        m.data()[37 * 3 + 1] = Float.NaN;
        var e = assertThrows(IllegalArgumentException.class, () -> IndexWriter.build(tmp.resolve("ix"), m, VectorDType.F32));
        assertTrue(e.getMessage().contains("row 37") && e.getMessage().contains("NaN"), e.getMessage());
        assertThrows(IndexFormatException.class, () -> FlatIndex.open(tmp.resolve("ix"), true)); // nothing was published
    }

    @Test
    void badQueriesAndK() throws Exception {
        IndexWriter.build(tmp.resolve("ix"), SearchParityTest.random(rng, 40, 3, false), VectorDType.F32);
        try (FlatIndex ix = FlatIndex.open(tmp.resolve("ix"), true)) {
            var e1 = assertThrows(IllegalArgumentException.class, () -> ix.search(SearchParityTest.random(rng, 2, 4, false), 5));
            assertTrue(e1.getMessage().contains("dimension 4") && e1.getMessage().contains("3"), e1.getMessage());
            assertThrows(IllegalArgumentException.class, () -> ix.search(SearchParityTest.random(rng, 2, 3, false), 0));
        }
    }

    @Test
    void corruptIndexFilesAreRejected() throws Exception {
        IndexWriter.build(tmp.resolve("ix"), SearchParityTest.random(rng, 100, 8, false), VectorDType.F32);
        Path f = IndexDirectory.currentFile(tmp.resolve("ix"));
        byte[] good = Files.readAllBytes(f);
        // flipped data byte: checksum mismatch
        byte[] b = good.clone();
        b[IndexHeader.SIZE + 100] ^= 1;
        Files.write(f, b);
        assertTrue(openFails(tmp.resolve("ix")).contains("checksum"));
        // bad magic
        b = good.clone();
        b[0] = 'X';
        Files.write(f, b);
        assertTrue(openFails(tmp.resolve("ix")).contains("bad magic"));
        // header field changed (dtype): header checksum
        b = good.clone();
        b[12] = 1;
        Files.write(f, b);
        assertTrue(openFails(tmp.resolve("ix")).contains("header checksum"));
        // truncated
        Files.write(f, java.util.Arrays.copyOf(good, good.length - 64));
        assertTrue(openFails(tmp.resolve("ix")).contains("truncated"));
        // not an index directory
        Files.createDirectories(tmp.resolve("other"));
        assertTrue(openFails(tmp.resolve("other")).contains("not an index directory"));
    }

    private static String openFails(Path p) {
        IndexFormatException e = assertThrows(IndexFormatException.class, () -> FlatIndex.open(p, true).close());
        return e.getMessage();
    }

    @Test
    void aFailedBuildLeavesThePreviousGenerationLive() throws Exception {
        FloatMatrix first = SearchParityTest.random(rng, 50, 4, false);
        IndexWriter.build(tmp.resolve("ix"), first, VectorDType.F32);
        VectorSource failing = new VectorSource() {
            @Override
            public int dim() {
                return 4;
            }

            @Override
            public long count() {
                return 10_000;
            }

            @Override
            public void read(long start, int rows, float[] dst) {
                if (start > 0) throw new IllegalStateException("disk on fire");
                java.util.Arrays.fill(dst, 1f);
            }
        };
        assertThrows(IllegalStateException.class, () -> IndexWriter.build(tmp.resolve("ix"), failing, VectorDType.F32, null, IndexWriter.Progress.NONE));
        try (FlatIndex ix = FlatIndex.open(tmp.resolve("ix"), true)) {
            assertEquals(50, ix.count());
            assertArrayEquals(first.row(49), ix.vector(49));
        }
        // a successful rebuild replaces it and removes the old generation
        IndexWriter.build(tmp.resolve("ix"), SearchParityTest.random(rng, 70, 4, false), VectorDType.F32);
        try (FlatIndex ix = FlatIndex.open(tmp.resolve("ix"), true)) {
            assertEquals(70, ix.count());
        }
        assertEquals(1, IndexDirectory.generations(tmp.resolve("ix")).size());
    }

    @Test
    void refusesToWriteIntoAForeignDirectory() throws Exception {
        Files.createDirectories(tmp.resolve("docs"));
        Files.writeString(tmp.resolve("docs/notes.txt"), "mine");
        var e = assertThrows(IndexFormatException.class, () -> IndexWriter.build(tmp.resolve("docs"), SearchParityTest.random(rng, 5, 2, false), VectorDType.F32));
        assertTrue(e.getMessage().contains("not an index directory"), e.getMessage());
    }
}
