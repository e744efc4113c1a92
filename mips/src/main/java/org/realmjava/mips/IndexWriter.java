package org.realmjava.mips;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;

/**
 * Builds an index generation from a {@link VectorSource}, streaming: rows are read in chunks of
 * whole blocks, rearranged into the block layout, converted to the storage type and written, so
 * the vectors are never held twice (nor once, for a file larger than the heap).
 */
public final class IndexWriter {
    /** Progress callback: rows written so far out of total. */
    @FunctionalInterface
    public interface Progress {
        void update(long done, long total);

        Progress NONE = (d, t) -> {};
    }

    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int CHUNK_BLOCKS = 256; // 4096 rows per read

    private IndexWriter() {}

    /**
     * Writes a new generation into dir (created if missing) and makes it live. ids, when given,
     * are reported instead of row numbers. Returns the path of the new index file.
     */
    public static Path build(Path dir, VectorSource source, VectorDType dtype, long[] ids, Progress progress) throws IOException {
        long n = source.count();
        int d = source.dim();
        if (n <= 0 || d <= 0) throw new IllegalArgumentException("index build: no vectors (" + n + " x " + d + ")");
        if (ids != null && ids.length != n) throw new IllegalArgumentException("index build: " + ids.length + " ids for " + n + " vectors");
        IndexHeader plan = IndexHeader.plan(dtype, d, n, ids != null);
        Path gen = IndexDirectory.newGeneration(dir);
        Files.createDirectories(gen);
        Path tmp = gen.resolve(IndexDirectory.VECTORS + ".tmp"), target = gen.resolve(IndexDirectory.VECTORS);
        CRC32C crc = new CRC32C();
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
             Arena arena = Arena.ofConfined()) {
            ch.position(IndexHeader.SIZE);
            int chunkRows = CHUNK_BLOCKS * IndexHeader.BLOCK;
            float[] rows = new float[chunkRows * d];
            MemorySegment out = arena.allocate((long) CHUNK_BLOCKS * plan.blockBytes(), 64);
            float[] scales = dtype == VectorDType.INT8 ? new float[(int) (plan.blocks() * IndexHeader.BLOCK)] : null;
            for (long start = 0; start < n; start += chunkRows) {
                int count = (int) Math.min(chunkRows, n - start);
                source.read(start, count, rows);
                checkFinite(rows, count, d, start);
                int blocks = (count + IndexHeader.BLOCK - 1) / IndexHeader.BLOCK;
                long bytes = blocks * plan.blockBytes();
                out.asSlice(0, bytes).fill((byte) 0);
                for (int r = 0; r < count; r++) {
                    int block = r / IndexHeader.BLOCK, lane = r % IndexHeader.BLOCK;
                    long base = (long) block * d * IndexHeader.BLOCK + lane; // element index of (block, j=0, lane)
                    float scale = 1f;
                    if (dtype == VectorDType.INT8) {
                        float max = 0;
                        for (int j = 0; j < d; j++) max = Math.max(max, Math.abs(rows[r * d + j]));
                        scale = max == 0 ? 1f : max / 127f;
                        scales[(int) (start + r)] = scale;
                    }
                    for (int j = 0; j < d; j++) {
                        float v = rows[r * d + j];
                        long e = base + (long) j * IndexHeader.BLOCK;
                        switch (dtype) {
                            case F32 -> out.set(F32_LE, e * 4, v);
                            case BF16 -> out.set(I16_LE, e * 2, org.realmjava.tensor.DType.toBf16(v));
                            case INT8 -> out.set(ValueLayout.JAVA_BYTE, e, (byte) Math.max(-127, Math.min(127, Math.round(v / scale))));
                        }
                    }
                }
                write(ch, out.asSlice(0, bytes), crc);
                progress.update(start + count, n);
            }
            if (scales != null) {
                pad(ch, plan.scalesOffset(), crc);
                MemorySegment s = arena.allocate(plan.scalesBytes(), 64);
                for (int i = 0; i < scales.length; i++) s.set(F32_LE, 4L * i, scales[i]);
                write(ch, s, crc);
            }
            if (ids != null) {
                pad(ch, plan.idsOffset(), crc);
                MemorySegment s = arena.allocate(plan.idsBytes(), 64);
                for (int i = 0; i < ids.length; i++) s.set(I64_LE, 8L * i, ids[i]);
                write(ch, s, crc);
            }
            ch.write(plan.withChecksum(crc.getValue()).encode(), 0);
            ch.force(true);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            Files.deleteIfExists(gen);
            throw e;
        }
        AtomicFiles.moveIntoPlace(tmp, target);
        AtomicFiles.syncDirectory(gen);
        IndexDirectory.publish(dir, gen);
        return target;
    }

    /** Builds from an in-memory matrix (tests, small corpora). */
    public static Path build(Path dir, FloatMatrix vectors, VectorDType dtype) throws IOException {
        return build(dir, VectorSource.of(vectors), dtype, null, Progress.NONE);
    }

    private static void checkFinite(float[] rows, int count, int d, long start) {
        for (int r = 0; r < count; r++) {
            for (int j = 0; j < d; j++) {
                float v = rows[r * d + j];
                if (!Float.isFinite(v)) {
                    throw new IllegalArgumentException("index build: row " + (start + r) + " has " + v + " at dimension " + j + " (vectors must be finite)");
                }
            }
        }
    }

    private static void write(FileChannel ch, MemorySegment s, CRC32C crc) throws IOException {
        var buf = s.asByteBuffer();
        crc.update(buf.duplicate());
        while (buf.hasRemaining()) ch.write(buf);
    }

    private static void pad(FileChannel ch, long to, CRC32C crc) throws IOException {
        long gap = to - ch.position();
        if (gap > 0) {
            byte[] z = new byte[(int) gap];
            crc.update(z);
            ch.write(java.nio.ByteBuffer.wrap(z));
        }
    }
}
