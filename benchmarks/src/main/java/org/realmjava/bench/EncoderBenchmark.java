package org.realmjava.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.realmjava.tensor.Autograd;
import org.realmjava.tensor.Tensor;
import org.realmjava.transformer.bert.BertEncoder;
import org.realmjava.transformer.onnx.OnnxBertLoader;

/**
 * all-MiniLM-L6-v2 encoder forward, this engine against ONNX Runtime on the same ONNX file, the
 * same token ids and the same thread count (2). One call encodes batch x len tokens (no padding);
 * tokens/s = batch * len / seconds. About 22 MFLOP per token (6 layers of 4 x 384^2 + 2 x 384 x 1536
 * multiply-adds, plus attention). Setup checks that both produce the same hidden states (1e-4).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-XX:-UseProfiledLoopPredicate", "-Xmx4g"})
// 30 s of warm-up: at batch 1 a forward calls each Java method only a few times, so C2 is still
// compiling the op wrappers 10-12 s in (-XX:+PrintCompilation), and its compiles take CPU from the
// two workers; measured after that, the time per forward is steady.
@Warmup(iterations = 15, time = 2)
@Measurement(iterations = 5, time = 2)
public class EncoderBenchmark {
    @Param({"32", "1"})
    public int batch;

    @Param({"128"})
    public int len;

    /** realm: f32 weights; realm-bf16: weight matrices stored in bf16 (f32 math); ort: ONNX Runtime. */
    @Param({"realm", "realm-bf16", "ort"})
    public String impl;

    BertEncoder encoder;
    Tensor ids, types, mask;
    OrtEnvironment env;
    OrtSession session;
    long[][] ortIds, ortMask, ortTypes;

    @Setup(Level.Trial)
    public void setup() throws Exception {
        Path onnx = Files.createTempFile("minilm", ".onnx");
        try (InputStream in = EncoderBenchmark.class.getClassLoader().getResourceAsStream("all-minilm-l6-v2.onnx")) {
            Files.copy(in, onnx, StandardCopyOption.REPLACE_EXISTING);
        }
        Random rng = new Random(1);
        int[] idv = new int[batch * len];
        ortIds = new long[batch][len];
        ortMask = new long[batch][len];
        ortTypes = new long[batch][len];
        float[] m = new float[batch * len];
        for (int b = 0; b < batch; b++) {
            for (int j = 0; j < len; j++) {
                int id = j == 0 ? 101 : j == len - 1 ? 102 : 1000 + rng.nextInt(29000);
                idv[b * len + j] = id;
                ortIds[b][j] = id;
                ortMask[b][j] = 1;
                m[b * len + j] = 1;
            }
        }
        ids = Tensor.ofInts(idv, batch, len);
        types = Tensor.ofInts(new int[batch * len], batch, len);
        mask = Tensor.of(m, batch, len);
        encoder = OnnxBertLoader.load(onnx).encoder();
        if (impl.equals("realm-bf16")) encoder = encoder.withBf16Weights();
        env = OrtEnvironment.getEnvironment();
        OrtSession.SessionOptions opts = new OrtSession.SessionOptions();
        opts.setIntraOpNumThreads(2);
        opts.setInterOpNumThreads(1);
        session = env.createSession(onnx.toString(), opts);
        float[] ours = realm().toFloatArray();
        float[][][] theirs = ort();
        double max = 0;
        for (int b = 0; b < batch; b++) for (int j = 0; j < len; j++) for (int h = 0; h < 384; h++) max = Math.max(max, Math.abs(theirs[b][j][h] - ours[(b * len + j) * 384 + h]));
        // bf16 weights change the arithmetic (about 3 significant digits per weight): a looser bound
        double bound = impl.equals("realm-bf16") ? 0.1 : 1e-4;
        if (max > bound) throw new IllegalStateException(impl + " and ONNX Runtime differ by " + max);
        Files.deleteIfExists(onnx);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        session.close();
    }

    Tensor realm() {
        try (var g = Autograd.noGrad()) {
            return encoder.forward(ids, types, mask, null);
        }
    }

    float[][][] ort() throws Exception {
        try (OnnxTensor a = OnnxTensor.createTensor(env, ortIds); OnnxTensor b = OnnxTensor.createTensor(env, ortMask);
             OnnxTensor c = OnnxTensor.createTensor(env, ortTypes);
             OrtSession.Result r = session.run(Map.of("input_ids", a, "attention_mask", b, "token_type_ids", c))) {
            return (float[][][]) r.get(0).getValue();
        }
    }

    @Benchmark
    public Object forward() throws Exception {
        return impl.equals("ort") ? ort() : realm();
    }
}
