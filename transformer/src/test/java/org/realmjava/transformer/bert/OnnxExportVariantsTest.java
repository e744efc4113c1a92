package org.realmjava.transformer.bert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.realmjava.tensor.Autograd;
import org.realmjava.tensor.Tensor;
import org.realmjava.transformer.onnx.OnnxBertLoader;
import org.realmjava.transformer.weights.ModelFiles;

/**
 * The ONNX loader on BERT exports it was not written against: {@code
 * scripts/peers/make_bert_onnx_variants.py} exports small random encoders with PyTorch the way
 * Hugging Face models are exported (module paths under "bert." or "0.auto_model.", MatMul weights
 * constant-folded under generated names, Div, Mul or q/k-side scaling, exact or tanh GELU or ReLU
 * next to a Tanh pooler, LayerNormalization ops, no token_type_ids input, no constant folding), and two of them also as Hugging Face checkpoint
 * directories (config.json + model.safetensors: F16 weights, TF-era gamma/beta names, int64 buffers).. For each, the derived
 * configuration must equal the one exported and the hidden states must match ONNX Runtime running
 * the same file. Skips, saying why, where Debian's python3-torch is not installed.
 */
class OnnxExportVariantsTest {
    @TempDir static Path dir;
    static OrtEnvironment env;

    @BeforeAll
    static void export() throws Exception {
        Path script = Path.of("../scripts/peers/make_bert_onnx_variants.py");
        Path python = Path.of("/usr/bin/python3");
        Assumptions.assumeTrue(Files.isRegularFile(script), "skipped: " + script + " not found from " + Path.of("").toAbsolutePath());
        Assumptions.assumeTrue(Files.isExecutable(python), "skipped: /usr/bin/python3 is not installed");
        Process check = new ProcessBuilder(python.toString(), "-c", "import torch").redirectErrorStream(true).start();
        check.getInputStream().readAllBytes();
        Assumptions.assumeTrue(check.waitFor(120, TimeUnit.SECONDS) && check.exitValue() == 0,
                "skipped: Debian's python3-torch is not installed (it exports the variant models)");
        Process p = new ProcessBuilder(python.toString(), script.toString(), dir.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "export script did not finish");
        assertEquals(0, p.exitValue(), "export script failed:\n" + out);
        env = OrtEnvironment.getEnvironment();
    }

    static Stream<String> variants() {
        return Stream.of("bert_prefix_gelu", "st_prefix_relu", "plain_gelu_new_opset17", "sdpa_scaled_head64", "unfolded_transposes");
    }

    @ParameterizedTest
    @MethodSource("variants")
    void loaderDerivesTheConfigurationAndMatchesOnnxRuntime(String variant) throws Exception {
        Path onnx = dir.resolve(variant + ".onnx");
        JsonNode truth = new ObjectMapper().readTree(dir.resolve(variant + ".json").toFile());
        OnnxBertLoader.Loaded loaded = OnnxBertLoader.load(onnx);
        BertConfig c = loaded.config();
        assertEquals(truth.get("vocab").asInt(), c.vocabSize(), "vocabulary");
        assertEquals(truth.get("hidden").asInt(), c.hiddenSize(), "hidden size");
        assertEquals(truth.get("heads").asInt(), c.heads(), "heads");
        assertEquals(truth.get("layers").asInt(), c.layers(), "layers");
        assertEquals(truth.get("intermediate").asInt(), c.intermediateSize(), "intermediate size");
        assertEquals(truth.get("positions").asInt(), c.maxPositions(), "positions");
        assertEquals(truth.get("types").asInt(), c.typeVocabSize(), "token types");
        assertEquals(truth.get("eps").floatValue(), c.layerNormEps(), truth.get("eps").floatValue() * 1e-5f, "LayerNorm epsilon");
        assertEquals(truth.get("activation").asText(), c.activation(), "activation");

        // a padded batch: full length, a short row and a one-token row; random type ids where there are several
        int positions = c.maxPositions(), vocab = c.vocabSize(), types = c.typeVocabSize();
        int[] lengths = {positions, 5, 1};
        int b = lengths.length, len = positions, hidden = c.hiddenSize();
        SplittableRandom rng = new SplittableRandom(variant.hashCode());
        long[][] ids = new long[b][len], mask = new long[b][len], typeIds = new long[b][len];
        int[] idsI = new int[b * len], typesI = new int[b * len];
        float[] maskF = new float[b * len];
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < len; j++) {
                boolean real = j < lengths[i];
                ids[i][j] = real ? rng.nextInt(vocab) : 0;
                mask[i][j] = real ? 1 : 0;
                typeIds[i][j] = real && j > lengths[i] / 2 ? rng.nextInt(types) : 0;
                idsI[i * len + j] = (int) ids[i][j];
                typesI[i * len + j] = (int) typeIds[i][j];
                maskF[i * len + j] = mask[i][j];
            }
        }
        float[][][] expected;
        OrtSession.SessionOptions opts = new OrtSession.SessionOptions();
        opts.setIntraOpNumThreads(2);
        try (OrtSession session = env.createSession(onnx.toString(), opts)) {
            Map<String, long[][]> all = Map.of("input_ids", ids, "attention_mask", mask, "token_type_ids", typeIds);
            Map<String, OnnxTensor> feed = new HashMap<>();
            List<OnnxTensor> open = new ArrayList<>();
            try {
                for (String name : session.getInputNames()) {
                    assertTrue(all.containsKey(name), "unexpected graph input " + name);
                    OnnxTensor t = OnnxTensor.createTensor(env, all.get(name));
                    open.add(t);
                    feed.put(name, t);
                }
                try (OrtSession.Result r = session.run(feed)) {
                    expected = (float[][][]) r.get(0).getValue();
                }
            } finally {
                for (OnnxTensor t : open) t.close();
            }
        }
        Tensor idsT = Tensor.ofInts(idsI, b, len), typesT = Tensor.ofInts(typesI, b, len), maskT = Tensor.of(maskF, b, len);
        compare(variant + " (ONNX) " + loaded.notes(), loaded.encoder(), idsT, typesT, maskT, expected, lengths);
        // the same weights as a Hugging Face checkpoint directory (module path, F16 or F32, gamma/beta, int64 buffers)
        Path hf = dir.resolve(variant + ".hf");
        if (Files.isDirectory(hf)) {
            BertEncoder fromDir = ModelFiles.load(hf);
            assertEquals(c, fromDir.config, "config.json and the ONNX graph describe the same model");
            compare(variant + " (safetensors)", fromDir, idsT, typesT, maskT, expected, lengths);
        }
    }

    private static void compare(String what, BertEncoder encoder, Tensor ids, Tensor types, Tensor mask, float[][][] expected, int[] lengths) {
        Tensor states;
        try (var g = Autograd.noGrad()) {
            states = encoder.forward(ids, types, mask, null);
        }
        double maxDiff = 0, maxAbs = 0;
        for (int i = 0; i < lengths.length; i++) {
            for (int j = 0; j < lengths[i]; j++) {
                for (int h = 0; h < expected[i][j].length; h++) {
                    maxDiff = Math.max(maxDiff, Math.abs(expected[i][j][h] - states.get(i, j, h)));
                    maxAbs = Math.max(maxAbs, Math.abs(expected[i][j][h]));
                }
            }
        }
        System.out.printf("%s: max |hidden diff| vs ONNX Runtime %.2e (values up to %.2f)%n", what, maxDiff, maxAbs);
        assertTrue(maxDiff <= 1e-4, what + ": hidden states differ from ONNX Runtime by " + maxDiff);
    }
}
