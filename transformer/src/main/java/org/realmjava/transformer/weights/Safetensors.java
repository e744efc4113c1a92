package org.realmjava.transformer.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.realmjava.tensor.Tensor;

/**
 * The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header
 * mapping each name to {dtype, shape, data_offsets}, then the raw little-endian data. Reads F32,
 * F16, BF16 and F64 (widened to f32) and the integer types I64, I32, I16, I8, U8 and BOOL (as
 * int32 tensors: checkpoints carry buffers such as {@code embeddings.position_ids}); writes F32. Reading validates everything before any tensor
 * is created, so a bad file never yields a half-loaded model. Writes are atomic.
 */
public final class Safetensors {
    private Safetensors() {}

    /** A file that cannot be used; one line naming the file and the problem. */
    public static class FormatException extends RuntimeException {
        public FormatException(Path file, String problem) {
            super(file + ": " + problem);
        }
    }

    public static Map<String, Tensor> read(Path file) {
        if (!Files.exists(file)) throw new FormatException(file, "no such file");
        try (Arena arena = Arena.ofConfined(); FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) throw new FormatException(file, "truncated (" + size + " bytes)");
            MemorySegment seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            long headerLen = seg.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
            if (headerLen <= 0 || headerLen > size - 8 || headerLen > 100_000_000) {
                throw new FormatException(file, "bad header length " + headerLen + " for a file of " + size + " bytes");
            }
            String json = new String(seg.asSlice(8, headerLen).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
            JsonNode header;
            try {
                header = new ObjectMapper().readTree(json);
            } catch (IOException e) {
                throw new FormatException(file, "header is not valid JSON");
            }
            long dataStart = 8 + headerLen, dataSize = size - dataStart;
            record Entry(String name, String dtype, long[] shape, long begin, long end) {}
            List<Entry> entries = new ArrayList<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
                var e = it.next();
                if (e.getKey().equals("__metadata__")) continue;
                JsonNode v = e.getValue();
                String dtype = v.path("dtype").asText();
                JsonNode shapeNode = v.path("shape"), off = v.path("data_offsets");
                if (!shapeNode.isArray() || !off.isArray() || off.size() != 2) throw new FormatException(file, "malformed entry " + e.getKey());
                long[] shape = new long[shapeNode.size()];
                long n = 1;
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = shapeNode.get(i).asLong();
                    n *= shape[i];
                }
                long begin = off.get(0).asLong(), end = off.get(1).asLong();
                int width = width(dtype);
                if (width == 0) {
                    throw new FormatException(file, e.getKey() + ": dtype " + dtype + " is not supported (F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL)");
                }
                if (begin < 0 || end < begin || end > dataSize) {
                    throw new FormatException(file, e.getKey() + ": data [" + begin + ", " + end + ") outside the " + dataSize + " data bytes (truncated?)");
                }
                if (end - begin != n * width) {
                    throw new FormatException(file, e.getKey() + ": " + (end - begin) + " bytes for shape " + java.util.Arrays.toString(shape) + " of " + dtype);
                }
                entries.add(new Entry(e.getKey(), dtype, shape, begin, end));
            }
            Map<String, Tensor> out = new LinkedHashMap<>();
            for (Entry e : entries) {
                MemorySegment d = seg.asSlice(dataStart + e.begin, e.end - e.begin);
                int count = Math.toIntExact((e.end - e.begin) / width(e.dtype));
                ByteBuffer bb = d.asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
                if (e.dtype.startsWith("F") || e.dtype.equals("BF16")) {
                    float[] v = new float[count];
                    for (int i = 0; i < count; i++) {
                        v[i] = switch (e.dtype) {
                            case "F32" -> bb.getFloat(4 * i);
                            case "F64" -> (float) bb.getDouble(8 * i);
                            case "F16" -> Float.float16ToFloat(bb.getShort(2 * i));
                            default -> Float.intBitsToFloat((bb.getShort(2 * i) & 0xFFFF) << 16);
                        };
                    }
                    out.put(e.name, Tensor.of(v, e.shape));
                } else {
                    int[] v = new int[count];
                    for (int i = 0; i < count; i++) {
                        long x = switch (e.dtype) {
                            case "I64" -> bb.getLong(8 * i);
                            case "I32" -> bb.getInt(4 * i);
                            case "I16" -> bb.getShort(2 * i);
                            case "I8" -> bb.get(i);
                            default -> bb.get(i) & 0xFF; // U8, BOOL
                        };
                        if (x != (int) x) throw new FormatException(file, e.name + ": value " + x + " at " + i + " does not fit an int32 tensor");
                        v[i] = (int) x;
                    }
                    out.put(e.name, Tensor.ofInts(v, e.shape));
                }
            }
            return out;
        } catch (IOException e) {
            throw new FormatException(file, "cannot read: " + e.getMessage());
        }
    }

    /** Bytes per element of a safetensors dtype, or 0 when it is not one this reader takes. */
    private static int width(String dtype) {
        return switch (dtype) {
            case "F64", "I64" -> 8;
            case "F32", "I32" -> 4;
            case "F16", "BF16", "I16" -> 2;
            case "I8", "U8", "BOOL" -> 1;
            default -> 0;
        };
    }

    /** Writes tensors as F32 safetensors, atomically (temporary file, fsync, rename). */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        ObjectMapper om = new ObjectMapper();
        ObjectNode header = om.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode md = header.putObject("__metadata__");
            metadata.forEach(md::put);
        }
        long offset = 0;
        for (var e : tensors.entrySet()) {
            ObjectNode n = header.putObject(e.getKey());
            n.put("dtype", "F32");
            var shape = n.putArray("shape");
            for (long d : e.getValue().shape()) shape.add(d);
            long bytes = e.getValue().numel() * 4;
            n.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] json = om.writeValueAsBytes(header);
        int pad = (8 - json.length % 8) % 8; // keep the data 8-byte aligned, as the reference writer does
        byte[] headerBytes = new byte[json.length + pad];
        System.arraycopy(json, 0, headerBytes, 0, json.length);
        java.util.Arrays.fill(headerBytes, json.length, headerBytes.length, (byte) ' ');
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = org.realmjava.io.TempFiles.create(dir, "." + file.getFileName(), ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(headerBytes.length).flip();
                ch.write(len);
                ch.write(ByteBuffer.wrap(headerBytes));
                for (Tensor t : tensors.values()) {
                    float[] v = t.toFloatArray();
                    ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
                    for (float f : v) b.putFloat(f);
                    b.flip();
                    while (b.hasRemaining()) ch.write(b);
                }
                ch.force(true);
            }
            Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
