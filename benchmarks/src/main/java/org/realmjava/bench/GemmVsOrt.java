package org.realmjava.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.realmjava.tensor.simd.SimdKernels;

/**
 * One inference product C[m, n] = A[m, k] W^T, our packed-weight path (SimdKernels.gemmPackedWeight,
 * what the encoder's Linear layers run) against ONNX Runtime's MatMul on a constant weight (MLAS,
 * what ORT's encoder runs), on the same inputs. The ORT side is a one-node ONNX model written here
 * (the protobuf fields of ModelProto, GraphProto, NodeProto, TensorProto and ValueInfoProto that
 * the model needs), input [1, m, k] as in a BERT graph. Run one engine per JVM: ORT's pool threads
 * spin on after each run and would take a core from our turn. Prints GFLOP/s per round and the
 * median, and checks the two results against each other first.
 *
 * <p>Usage: {@code GemmVsOrt m n k engine=realm|ort [rounds=10] [reps=20]}; threads: -Drealm.threads
 * (both engines; default all cores).
 */
public final class GemmVsOrt {
    private GemmVsOrt() {}

    public static void main(String[] args) throws Exception {
        int m = Integer.parseInt(args[0]), n = Integer.parseInt(args[1]), k = Integer.parseInt(args[2]);
        String engine = args[3];
        if (!engine.equals("realm") && !engine.equals("ort")) throw new IllegalArgumentException("engine must be realm or ort, got " + engine);
        int rounds = args.length > 4 ? Integer.parseInt(args[4]) : 10, reps = args.length > 5 ? Integer.parseInt(args[5]) : 20;
        int threads = Integer.getInteger("realm.threads", Runtime.getRuntime().availableProcessors());
        Random rng = new Random(1);
        float[] w = new float[n * k]; // [n, k], a Linear layer's weight
        for (int i = 0; i < w.length; i++) w[i] = rng.nextFloat() - 0.5f;
        float[] a = new float[m * k];
        for (int i = 0; i < a.length; i++) a[i] = rng.nextFloat() - 0.5f;
        Arena arena = Arena.ofShared();
        MemorySegment ws = arena.allocate(4L * n * k, 64), as = arena.allocate(4L * m * k, 64), cs = arena.allocate(4L * m * n, 64);
        MemorySegment.copy(w, 0, ws, ValueLayout.JAVA_FLOAT, 0, w.length);
        MemorySegment.copy(a, 0, as, ValueLayout.JAVA_FLOAT, 0, a.length);
        SimdKernels ours = new SimdKernels();
        Object packed = ours.packWeight(ws, k, n, k);
        float[] wKn = new float[k * n]; // MatMul's B is [k, n]
        for (int j = 0; j < n; j++) for (int p = 0; p < k; p++) wKn[p * n + j] = w[j * k + p];
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setIntraOpNumThreads(threads);
        options.setInterOpNumThreads(1);
        try (OrtSession session = env.createSession(matMulModel(wKn, k, n), options);
             OnnxTensor input = OnnxTensor.createTensor(env, FloatBuffer.wrap(a), new long[] {1, m, k})) {
            ours.gemmPackedWeight(m, n, k, as, k, packed, cs, n);
            float[] theirs = new float[m * n];
            try (OrtSession.Result r = session.run(Map.of("A", input))) {
                ((OnnxTensor) r.get(0)).getFloatBuffer().get(theirs);
            }
            double maxDiff = 0;
            for (int i = 0; i < theirs.length; i++) maxDiff = Math.max(maxDiff, Math.abs(cs.getAtIndex(ValueLayout.JAVA_FLOAT, i) - theirs[i]));
            if (!(maxDiff < 1e-3)) throw new IllegalStateException("the two products differ by " + maxDiff);
            double flops = 2.0 * m * n * k * reps;
            List<Double> rates = new ArrayList<>();
            StringBuilder line = new StringBuilder();
            for (int round = 0; round < rounds; round++) {
                long t0 = System.nanoTime();
                for (int i = 0; i < reps; i++) {
                    if (engine.equals("realm")) ours.gemmPackedWeight(m, n, k, as, k, packed, cs, n);
                    else try (OrtSession.Result r = session.run(Map.of("A", input))) { /* the product only */ }
                }
                double rate = flops / (System.nanoTime() - t0);
                if (round > 0) rates.add(rate); // the first round warms up
                line.append(String.format(" %.0f", rate));
            }
            Collections.sort(rates);
            System.out.printf("engine=%s m=%d n=%d k=%d threads=%d gflops_median=%.1f rounds=%s max_abs_diff=%.2e%n",
                    engine, m, n, k, threads, rates.get(rates.size() / 2), line.toString().trim().replace(' ', ','), maxDiff);
        }
    }

    /** ModelProto bytes of C = MatMul(A [1, M, k], W [k, n]) with W an initializer, opset 17. */
    static byte[] matMulModel(float[] wKn, int k, int n) {
        Proto node = new Proto().str(1, "A").str(1, "W").str(2, "C").str(3, "matmul").str(4, "MatMul");
        ByteBuffer raw = ByteBuffer.allocate(wKn.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : wKn) raw.putFloat(f);
        Proto weight = new Proto().num(1, k).num(1, n).num(2, 1 /* FLOAT */).str(8, "W").bytes(9, raw.array());
        Proto graph = new Proto().msg(1, node).str(2, "matmul").msg(5, weight).msg(11, valueInfo("A", k)).msg(12, valueInfo("C", n));
        Proto opset = new Proto().str(1, "").num(2, 17);
        return new Proto().num(1, 8 /* IR version */).msg(8, opset).msg(7, graph).toBytes();
    }

    /** ValueInfoProto of a float tensor [1, M, last] (M symbolic). */
    private static Proto valueInfo(String name, int last) {
        Proto shape = new Proto().msg(1, new Proto().num(1, 1)).msg(1, new Proto().str(2, "M")).msg(1, new Proto().num(1, last));
        Proto tensorType = new Proto().num(1, 1 /* FLOAT */).msg(2, shape);
        return new Proto().str(1, name).msg(2, new Proto().msg(1, tensorType));
    }

    /** A protobuf message being written: varint and length-delimited fields only. */
    private static final class Proto {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        private void varint(long v) {
            while ((v & ~0x7FL) != 0) {
                out.write((int) ((v & 0x7F) | 0x80));
                v >>>= 7;
            }
            out.write((int) v);
        }

        Proto num(int field, long value) {
            varint((long) field << 3);
            varint(value);
            return this;
        }

        Proto bytes(int field, byte[] value) {
            varint(((long) field << 3) | 2);
            varint(value.length);
            out.writeBytes(value);
            return this;
        }

        Proto str(int field, String value) {
            return bytes(field, value.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }

        Proto msg(int field, Proto value) {
            return bytes(field, value.toBytes());
        }

        byte[] toBytes() {
            return out.toByteArray();
        }
    }
}
