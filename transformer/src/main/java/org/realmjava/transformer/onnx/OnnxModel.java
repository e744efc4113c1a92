package org.realmjava.transformer.onnx;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The parts of an ONNX model a weight loader needs, read with protobuf's wire-format reader
 * (no generated classes): the graph's nodes (op type, inputs, outputs, attributes) and its
 * constant tensors (initializers and Constant nodes), widened to f32 or kept as integers.
 * Field numbers are those of onnx.proto (ModelProto.graph = 7, GraphProto.node = 1,
 * GraphProto.initializer = 5, TensorProto.dims = 1, data_type = 2, float_data = 4, int64_data = 7,
 * name = 8, raw_data = 9, ...).
 */
public final class OnnxModel {
    /** A constant tensor: shape, and values as f32 (floating types) or i64 (integer types). */
    public record Constant(String name, long[] shape, float[] floats, long[] longs) {
        public long numel() {
            long n = 1;
            for (long d : shape) n *= d;
            return n;
        }
    }

    /** One graph node. */
    public record Node(String name, String opType, List<String> inputs, List<String> outputs, Map<String, Object> attributes) {}

    private final Map<String, Constant> constants = new LinkedHashMap<>();
    private final List<Node> nodes = new ArrayList<>();
    private final List<String> graphInputs = new ArrayList<>();
    private final List<String> graphOutputs = new ArrayList<>();

    public Map<String, Constant> constants() {
        return constants;
    }

    public List<Node> nodes() {
        return nodes;
    }

    public List<String> graphInputs() {
        return graphInputs;
    }

    public List<String> graphOutputs() {
        return graphOutputs;
    }

    /** Reads an .onnx file; any malformation is an {@link OnnxFormatException} naming the file. */
    public static OnnxModel read(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new OnnxFormatException(file + ": no such file");
        } catch (IOException e) {
            throw new OnnxFormatException(file + ": cannot read: " + e.getMessage());
        }
        try {
            OnnxModel m = new OnnxModel();
            CodedInputStream in = CodedInputStream.newInstance(bytes);
            in.setSizeLimit(Integer.MAX_VALUE);
            boolean sawGraph = false;
            while (!in.isAtEnd()) {
                int tag = in.readTag();
                if (WireFormat.getTagFieldNumber(tag) == 7 && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                    m.readGraph(in.readBytes().newCodedInput());
                    sawGraph = true;
                } else if (!in.skipField(tag)) {
                    break;
                }
            }
            if (!sawGraph || m.nodes.isEmpty()) throw new OnnxFormatException(file + ": not an ONNX model (no graph)");
            return m;
        } catch (OnnxFormatException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new OnnxFormatException(file + ": corrupt or truncated ONNX file (" + e.getMessage() + ")");
        }
    }

    private void readGraph(CodedInputStream in) throws IOException {
        in.setSizeLimit(Integer.MAX_VALUE);
        while (!in.isAtEnd()) {
            int tag = in.readTag();
            switch (WireFormat.getTagFieldNumber(tag)) {
                case 1 -> nodes.add(readNode(in.readBytes().newCodedInput()));
                case 5 -> {
                    Constant c = readTensor(in.readBytes().newCodedInput(), null);
                    constants.put(c.name, c);
                }
                case 11 -> graphInputs.add(readValueInfoName(in.readBytes().newCodedInput()));
                case 12 -> graphOutputs.add(readValueInfoName(in.readBytes().newCodedInput()));
                default -> in.skipField(tag);
            }
        }
        // Constant nodes hold tensors too (some exporters put weights there)
        for (Node n : nodes) {
            if (n.opType.equals("Constant") && n.attributes.get("value") instanceof Constant c && !n.outputs.isEmpty()) {
                String out = n.outputs.get(0);
                constants.put(out, new Constant(out, c.shape, c.floats, c.longs));
            }
        }
    }

    private static String readValueInfoName(CodedInputStream in) throws IOException {
        String name = "";
        while (!in.isAtEnd()) {
            int tag = in.readTag();
            if (WireFormat.getTagFieldNumber(tag) == 1) name = in.readString();
            else in.skipField(tag);
        }
        return name;
    }

    private static Node readNode(CodedInputStream in) throws IOException {
        List<String> inputs = new ArrayList<>(), outputs = new ArrayList<>();
        String name = "", op = "";
        Map<String, Object> attrs = new LinkedHashMap<>();
        while (!in.isAtEnd()) {
            int tag = in.readTag();
            switch (WireFormat.getTagFieldNumber(tag)) {
                case 1 -> inputs.add(in.readString());
                case 2 -> outputs.add(in.readString());
                case 3 -> name = in.readString();
                case 4 -> op = in.readString();
                case 5 -> readAttribute(in.readBytes().newCodedInput(), attrs);
                default -> in.skipField(tag);
            }
        }
        return new Node(name, op, inputs, outputs, attrs);
    }

    private static void readAttribute(CodedInputStream in, Map<String, Object> out) throws IOException {
        String name = "";
        Object value = null;
        List<Long> ints = new ArrayList<>();
        List<Float> floats = new ArrayList<>();
        while (!in.isAtEnd()) {
            int tag = in.readTag();
            int wire = WireFormat.getTagWireType(tag);
            switch (WireFormat.getTagFieldNumber(tag)) {
                case 1 -> name = in.readString();
                case 2 -> value = in.readFloat();
                case 3 -> value = in.readInt64();
                case 4 -> value = in.readBytes().toStringUtf8();
                case 5 -> value = readTensor(in.readBytes().newCodedInput(), name);
                case 7 -> {
                    if (wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                        int limit = in.pushLimit(in.readRawVarint32());
                        while (in.getBytesUntilLimit() > 0) floats.add(in.readFloat());
                        in.popLimit(limit);
                    } else floats.add(in.readFloat());
                }
                case 8 -> {
                    if (wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                        int limit = in.pushLimit(in.readRawVarint32());
                        while (in.getBytesUntilLimit() > 0) ints.add(in.readInt64());
                        in.popLimit(limit);
                    } else ints.add(in.readInt64());
                }
                default -> in.skipField(tag);
            }
        }
        if (value == null && !ints.isEmpty()) value = ints;
        if (value == null && !floats.isEmpty()) value = floats;
        out.put(name, value);
    }

    private static Constant readTensor(CodedInputStream in, String fallbackName) throws IOException {
        in.setSizeLimit(Integer.MAX_VALUE);
        List<Long> dims = new ArrayList<>();
        int dataType = 0;
        String name = fallbackName == null ? "" : fallbackName;
        ByteBuffer raw = null;
        List<Float> floatData = new ArrayList<>();
        List<Long> intData = new ArrayList<>();
        List<Double> doubleData = new ArrayList<>();
        boolean external = false;
        while (!in.isAtEnd()) {
            int tag = in.readTag();
            int wire = WireFormat.getTagWireType(tag);
            int field = WireFormat.getTagFieldNumber(tag);
            switch (field) {
                case 1 -> readPackedOrSingle(in, wire, () -> dims.add(in.readInt64()));
                case 2 -> dataType = in.readInt32();
                case 4 -> readPackedOrSingle(in, wire, () -> floatData.add(in.readFloat()));
                case 5 -> readPackedOrSingle(in, wire, () -> intData.add((long) in.readInt32()));
                case 7 -> readPackedOrSingle(in, wire, () -> intData.add(in.readInt64()));
                case 8 -> name = in.readString();
                case 9 -> raw = in.readBytes().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
                case 10 -> readPackedOrSingle(in, wire, () -> doubleData.add(in.readDouble()));
                case 14 -> external = in.readInt32() == 1;
                default -> in.skipField(tag);
            }
        }
        long[] shape = dims.stream().mapToLong(Long::longValue).toArray();
        long n = 1;
        for (long d : shape) n *= d;
        if (external) throw new IOException("tensor " + name + " keeps its data in an external file, which is not supported");
        int count = Math.toIntExact(n);
        switch (dataType) {
            case 1, 10, 16, 11 -> { // float, float16, bfloat16, double
                float[] f = new float[count];
                if (raw != null) {
                    for (int i = 0; i < count; i++) {
                        f[i] = switch (dataType) {
                            case 1 -> raw.getFloat(4 * i);
                            case 10 -> Float.float16ToFloat(raw.getShort(2 * i));
                            case 16 -> Float.intBitsToFloat((raw.getShort(2 * i) & 0xFFFF) << 16);
                            default -> (float) raw.getDouble(8 * i);
                        };
                    }
                } else if (dataType == 11) {
                    for (int i = 0; i < count; i++) f[i] = doubleData.get(i).floatValue();
                } else if (dataType == 1) {
                    for (int i = 0; i < count; i++) f[i] = floatData.get(i);
                } else {
                    for (int i = 0; i < count; i++) { // float16/bfloat16 without raw data live in int32_data
                        int bits = intData.get(i).intValue() & 0xFFFF;
                        f[i] = dataType == 10 ? Float.float16ToFloat((short) bits) : Float.intBitsToFloat(bits << 16);
                    }
                }
                return new Constant(name, shape, f, null);
            }
            case 6, 7, 2, 3, 4, 5, 9 -> { // int32, int64, uint8, int8, uint16, int16, bool
                long[] l = new long[count];
                if (raw != null) {
                    for (int i = 0; i < count; i++) {
                        l[i] = switch (dataType) {
                            case 7 -> raw.getLong(8 * i);
                            case 6 -> raw.getInt(4 * i);
                            case 4 -> raw.getShort(2 * i) & 0xFFFF;
                            case 5 -> raw.getShort(2 * i);
                            case 3 -> raw.get(i);
                            default -> raw.get(i) & 0xFF;
                        };
                    }
                } else {
                    for (int i = 0; i < count; i++) l[i] = intData.get(i);
                }
                return new Constant(name, shape, null, l);
            }
            default -> {
                return new Constant(name, shape, null, new long[0]); // other types: shape only
            }
        }
    }

    @FunctionalInterface
    private interface Reader {
        void read() throws IOException;
    }

    private static void readPackedOrSingle(CodedInputStream in, int wire, Reader r) throws IOException {
        if (wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
            int limit = in.pushLimit(in.readRawVarint32());
            while (in.getBytesUntilLimit() > 0) r.read();
            in.popLimit(limit);
        } else {
            r.read();
        }
    }
}
