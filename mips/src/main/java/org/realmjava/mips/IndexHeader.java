package org.realmjava.mips;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.zip.CRC32C;

/**
 * The first 4096 bytes of an index file (little-endian):
 * <pre>
 *   0  magic "RLMINDEX"        8  int version (1)      12 int dtype (0 f32, 1 bf16, 2 int8)
 *  16  int dim                 20 int blockRows (16)   24 long count
 *  32  long dataOffset         40 long dataBytes       48 long scalesOffset  56 long scalesBytes
 *  64  long idsOffset          72 long idsBytes        80 long CRC32C of all bytes after the header
 *  88  int CRC32C of bytes [0, 88)
 * </pre>
 * Data: ceil(count / 16) blocks; block b holds, for each dimension j, the 16 values of rows
 * 16b .. 16b+15 (the last block zero-padded). One 512-bit load is then one dimension of 16 rows,
 * and a dot product needs no horizontal reduction. Scales (int8): one f32 per row, padded to
 * whole blocks. Ids (optional): one int64 per row.
 */
public record IndexHeader(VectorDType dtype, int dim, long count, long dataOffset, long dataBytes,
                          long scalesOffset, long scalesBytes, long idsOffset, long idsBytes, long checksum) {
    public static final int SIZE = 4096;
    public static final int BLOCK = 16;
    public static final int VERSION = 1;
    private static final byte[] MAGIC = "RLMINDEX".getBytes(StandardCharsets.US_ASCII);

    public long blocks() {
        return (count + BLOCK - 1) / BLOCK;
    }

    public long blockBytes() {
        return (long) BLOCK * dim * dtype.bytes;
    }

    /** The layout for a new index; the checksum is filled in once the data is written. */
    public static IndexHeader plan(VectorDType dtype, int dim, long count, boolean withIds) {
        long blocks = (count + BLOCK - 1) / BLOCK;
        long dataBytes = blocks * BLOCK * dim * (long) dtype.bytes;
        long scalesOffset = 0, scalesBytes = 0, idsOffset = 0, idsBytes = 0;
        long end = SIZE + dataBytes;
        if (dtype == VectorDType.INT8) {
            scalesOffset = align(end, 64);
            scalesBytes = blocks * BLOCK * 4;
            end = scalesOffset + scalesBytes;
        }
        if (withIds) {
            idsOffset = align(end, 64);
            idsBytes = count * 8;
        }
        return new IndexHeader(dtype, dim, count, SIZE, dataBytes, scalesOffset, scalesBytes, idsOffset, idsBytes, 0);
    }

    static long align(long x, long a) {
        return (x + a - 1) / a * a;
    }

    public long fileSize() {
        long end = dataOffset + dataBytes;
        if (scalesBytes > 0) end = scalesOffset + scalesBytes;
        if (idsBytes > 0) end = idsOffset + idsBytes;
        return end;
    }

    public IndexHeader withChecksum(long crc) {
        return new IndexHeader(dtype, dim, count, dataOffset, dataBytes, scalesOffset, scalesBytes, idsOffset, idsBytes, crc);
    }

    public ByteBuffer encode() {
        ByteBuffer b = ByteBuffer.allocate(SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).putInt(VERSION).putInt(dtype.ordinal()).putInt(dim).putInt(BLOCK).putLong(count)
                .putLong(dataOffset).putLong(dataBytes).putLong(scalesOffset).putLong(scalesBytes)
                .putLong(idsOffset).putLong(idsBytes).putLong(checksum);
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, 88);
        b.putInt((int) crc.getValue());
        b.position(0);
        return b;
    }

    /** Parses and validates a header; every problem is an {@link IndexFormatException} naming the file. */
    public static IndexHeader decode(Path file, MemorySegment seg) {
        if (seg.byteSize() < SIZE) throw new IndexFormatException(file, "truncated index file (" + seg.byteSize() + " bytes, header needs " + SIZE + ")");
        ByteBuffer b = seg.asSlice(0, SIZE).asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        byte[] magic = new byte[8];
        b.get(magic);
        if (!java.util.Arrays.equals(magic, MAGIC)) throw new IndexFormatException(file, "not a realm index (bad magic)");
        int version = b.getInt();
        if (version != VERSION) throw new IndexFormatException(file, "index format version " + version + " is not supported (this build reads " + VERSION + ")");
        byte[] head = seg.asSlice(0, 88).toArray(ValueLayout.JAVA_BYTE);
        CRC32C crc = new CRC32C();
        crc.update(head);
        if ((int) crc.getValue() != seg.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 88)) {
            throw new IndexFormatException(file, "header checksum mismatch (corrupt header)");
        }
        int dt = b.getInt(), dim = b.getInt(), blockRows = b.getInt();
        long count = b.getLong();
        if (dt < 0 || dt >= VectorDType.values().length) throw new IndexFormatException(file, "unknown dtype code " + dt);
        if (blockRows != BLOCK) throw new IndexFormatException(file, "block size " + blockRows + " is not supported");
        if (dim <= 0 || count <= 0) throw new IndexFormatException(file, "bad shape " + count + " x " + dim);
        IndexHeader h = new IndexHeader(VectorDType.values()[dt], dim, count, b.getLong(), b.getLong(), b.getLong(), b.getLong(),
                b.getLong(), b.getLong(), b.getLong());
        IndexHeader expected = plan(h.dtype, dim, count, h.idsBytes > 0).withChecksum(h.checksum);
        if (!expected.equals(h)) throw new IndexFormatException(file, "inconsistent header layout");
        if (seg.byteSize() < h.fileSize()) {
            throw new IndexFormatException(file, "truncated: header describes " + h.fileSize() + " bytes, file has " + seg.byteSize());
        }
        return h;
    }
}
