package org.realmjava.mips;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Vector files users already have: NumPy {@code .npy} (float32 or float64, C order, 1-D or 2-D)
 * and the ANN-benchmark {@code .fvecs} format (per row: int32 dim, then dim float32). Files are
 * memory-mapped and read row by row, so a file larger than the heap streams.
 */
public final class VectorFiles {
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64_LE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    private VectorFiles() {}

    /** Opens a .npy or .fvecs file by its extension. */
    public static VectorSource open(Path file) {
        String name = file.getFileName().toString().toLowerCase();
        if (name.endsWith(".npy")) return openNpy(file);
        if (name.endsWith(".fvecs")) return openFvecs(file);
        throw new IndexFormatException(file, "unknown vector file type (expected .npy or .fvecs)");
    }

    /** Reads a whole (small) file into memory, e.g. queries. */
    public static FloatMatrix readAll(Path file) {
        try (VectorSource s = open(file)) {
            if (s.count() * s.dim() > Integer.MAX_VALUE - 8) throw new IndexFormatException(file, "too large to load on the heap");
            float[] data = new float[(int) (s.count() * s.dim())];
            s.read(0, (int) s.count(), data);
            return new FloatMatrix(data, (int) s.count(), s.dim());
        }
    }

    private static MemorySegment map(Path file, Arena arena) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new IndexFormatException(file, "no such file");
        } catch (IOException e) {
            throw new IndexFormatException(file, "cannot read: " + e.getMessage(), e);
        }
    }

    static VectorSource openNpy(Path file) {
        Arena arena = Arena.ofShared();
        MemorySegment seg = map(file, arena);
        try {
            long size = seg.byteSize();
            if (size < 10) throw new IndexFormatException(file, "empty or truncated .npy file (" + size + " bytes)");
            byte[] magic = seg.asSlice(0, 6).toArray(ValueLayout.JAVA_BYTE);
            if ((magic[0] & 0xFF) != 0x93 || !new String(magic, 1, 5, StandardCharsets.US_ASCII).equals("NUMPY")) {
                throw new IndexFormatException(file, "not a .npy file (bad magic)");
            }
            int major = seg.get(ValueLayout.JAVA_BYTE, 6);
            long headerLen, headerStart;
            if (major == 1) {
                headerLen = Short.toUnsignedInt(seg.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 8));
                headerStart = 10;
            } else {
                if (size < 12) throw new IndexFormatException(file, "truncated .npy header");
                headerLen = Integer.toUnsignedLong(seg.get(I32_LE, 8));
                headerStart = 12;
            }
            if (headerStart + headerLen > size) throw new IndexFormatException(file, "truncated .npy header");
            String header = new String(seg.asSlice(headerStart, headerLen).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.ISO_8859_1);
            String descr = group(DESCR, header, file, "descr");
            if (group(FORTRAN, header, file, "fortran_order").equals("True")) {
                throw new IndexFormatException(file, "Fortran-order arrays are not supported (save with C order)");
            }
            boolean f64;
            switch (descr) {
                case "<f4", "=f4", "|f4" -> f64 = false;
                case "<f8", "=f8" -> f64 = true;
                default -> throw new IndexFormatException(file, "dtype " + descr + " is not supported (need little-endian float32 or float64)");
            }
            String[] dims = group(SHAPE, header, file, "shape").split(",");
            long rows, dim;
            java.util.List<Long> parsed = new java.util.ArrayList<>();
            for (String d : dims) if (!d.isBlank()) parsed.add(Long.parseLong(d.trim()));
            if (parsed.size() == 1) {
                rows = 1;
                dim = parsed.get(0);
            } else if (parsed.size() == 2) {
                rows = parsed.get(0);
                dim = parsed.get(1);
            } else {
                throw new IndexFormatException(file, "shape " + parsed + " is not 1-D or 2-D");
            }
            if (rows == 0 || dim == 0) throw new IndexFormatException(file, "empty array (shape " + parsed + ")");
            if (dim > Integer.MAX_VALUE) throw new IndexFormatException(file, "dimension " + dim + " too large");
            long dataStart = headerStart + headerLen;
            long need = rows * dim * (f64 ? 8 : 4);
            if (size - dataStart < need) {
                throw new IndexFormatException(file, "truncated: shape " + parsed + " needs " + need + " data bytes, file has " + (size - dataStart));
            }
            return new MappedSource(file, arena, seg, dataStart, rows, (int) dim, f64, false);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static String group(Pattern p, String header, Path file, String what) {
        Matcher m = p.matcher(header);
        if (!m.find()) throw new IndexFormatException(file, "malformed .npy header: no '" + what + "'");
        return m.group(1);
    }

    static VectorSource openFvecs(Path file) {
        Arena arena = Arena.ofShared();
        MemorySegment seg = map(file, arena);
        try {
            long size = seg.byteSize();
            if (size < 4) throw new IndexFormatException(file, "empty or truncated .fvecs file (" + size + " bytes)");
            int dim = seg.get(I32_LE, 0);
            if (dim <= 0) throw new IndexFormatException(file, "bad dimension " + dim + " in the first row");
            long rowBytes = 4 + 4L * dim;
            if (size % rowBytes != 0) {
                throw new IndexFormatException(file, "size " + size + " is not a multiple of the row size " + rowBytes + " (dimension " + dim + "): truncated?");
            }
            long rows = size / rowBytes;
            for (long r = 0; r < rows; r++) {
                int d = seg.get(I32_LE, r * rowBytes);
                if (d != dim) throw new IndexFormatException(file, "row " + r + " has dimension " + d + ", the first row " + dim);
            }
            return new MappedSource(file, arena, seg, 0, rows, dim, false, true);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private record MappedSource(Path file, Arena arena, MemorySegment seg, long start, long count, int dim, boolean f64, boolean fvecs)
            implements VectorSource {
        @Override
        public void read(long first, int rows, float[] dst) {
            if (first < 0 || first + rows > count) throw new IndexOutOfBoundsException("rows " + first + ".." + (first + rows) + " of " + count);
            for (int r = 0; r < rows; r++) {
                long row = first + r;
                if (fvecs) {
                    long off = row * (4 + 4L * dim) + 4;
                    MemorySegment.copy(seg, F32_LE, off, dst, r * dim, dim);
                } else if (!f64) {
                    MemorySegment.copy(seg, F32_LE, start + row * dim * 4L, dst, r * dim, dim);
                } else {
                    long off = start + row * dim * 8L;
                    for (int j = 0; j < dim; j++) dst[r * dim + j] = (float) seg.get(F64_LE, off + 8L * j);
                }
            }
        }

        @Override
        public void close() {
            arena.close();
        }
    }

    /** Writes a float32 C-order .npy file atomically (temporary file, fsync, rename). */
    public static void writeNpy(Path file, FloatMatrix m) throws IOException {
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + m.rows() + ", " + m.dim() + "), }";
        int total = 10 + dict.length() + 1;
        int pad = (64 - total % 64) % 64;
        String header = dict + " ".repeat(pad) + "\n";
        java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(10 + header.length() + 4 * m.data().length).order(ByteOrder.LITTLE_ENDIAN);
        buf.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) 1).put((byte) 0);
        buf.putShort((short) header.length()).put(header.getBytes(StandardCharsets.US_ASCII));
        for (float f : m.data()) buf.putFloat(f);
        AtomicFiles.write(file, buf.flip());
    }

    /** Writes an .fvecs file atomically. */
    public static void writeFvecs(Path file, FloatMatrix m) throws IOException {
        java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(m.rows() * (4 + 4 * m.dim())).order(ByteOrder.LITTLE_ENDIAN);
        for (int r = 0; r < m.rows(); r++) {
            buf.putInt(m.dim());
            for (int j = 0; j < m.dim(); j++) buf.putFloat(m.get(r, j));
        }
        AtomicFiles.write(file, buf.flip());
    }
}
