package org.realmjava.transformer.bert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.realmjava.tensor.Autograd;
import org.realmjava.tensor.Tensor;
import org.realmjava.transformer.TestData;
import org.realmjava.transformer.onnx.OnnxBertLoader;
import org.realmjava.transformer.tokenizer.Encoding;
import org.realmjava.transformer.tokenizer.WordPieceTokenizer;

/**
 * Our BERT encoder, with weights read from the ONNX file, against ONNX Runtime running that same
 * file (test scope only): hidden states of real tokens and pooled embeddings within 1e-4 absolute,
 * on padded batches of mixed lengths up to 512 tokens.
 */
class OnnxRuntimeParityTest {
    static Path onnx;
    static OnnxBertLoader.Loaded loaded;
    static WordPieceTokenizer tokenizer;
    static OrtEnvironment env;
    static OrtSession session;

    @BeforeAll
    static void setUp() throws Exception {
        onnx = TestData.resourceFile("all-minilm-l6-v2.onnx");
        loaded = OnnxBertLoader.load(onnx);
        tokenizer = WordPieceTokenizer.load(TestData.resourceFile("all-minilm-l6-v2-tokenizer.json"));
        env = OrtEnvironment.getEnvironment();
        OrtSession.SessionOptions opts = new OrtSession.SessionOptions();
        opts.setIntraOpNumThreads(2);
        session = env.createSession(onnx.toString(), opts);
    }

    @AfterAll
    static void tearDown() throws Exception {
        session.close();
    }

    @Test
    void derivedConfigMatchesMiniLm() {
        BertConfig c = loaded.config();
        assertEquals(6, c.layers());
        assertEquals(384, c.hiddenSize());
        assertEquals(12, c.heads());
        assertEquals(1536, c.intermediateSize());
        assertEquals(30522, c.vocabSize());
        assertEquals(512, c.maxPositions());
        assertEquals("gelu", c.activation());
        assertEquals(1e-12f, c.layerNormEps(), 1e-15f);
    }

    @Test
    void hiddenStatesMatchOnnxRuntimeOnPaddedBatches() throws Exception {
        List<String> texts = List.of("Hello world.", "The quick brown fox jumps over the lazy dog, twice!",
                "REALM retrieves documents from a corpus and marginalises over them.", "a",
                "word ".repeat(200), "Longer text ".repeat(120) + "end");
        compareBatch(texts.subList(0, 4), 0);
        compareBatch(texts, 512); // up to 512 tokens, with padding
    }

    /**
     * bf16 weights: the bf16-stored encoder computes exactly what an f32 encoder with bf16-rounded
     * weights computes (widening is exact; only summation order may differ), and its pooled
     * embeddings stay close to ONNX Runtime's f32 ones.
     */
    @Test
    void bf16WeightsMatchRoundedF32WeightsAndStayCloseToOnnxRuntime() throws Exception {
        BertEncoder f32 = loaded.encoder(), bf16 = f32.withBf16Weights();
        Map<String, Tensor> p = new java.util.LinkedHashMap<>();
        f32.collectParameters("", p);
        long bf16Params = 0, allParams = 0;
        Map<String, Tensor> rounded = new java.util.LinkedHashMap<>();
        for (var e : p.entrySet()) {
            Tensor t = e.getValue().detach();
            allParams += t.numel();
            if (t.rank() == 2) bf16Params += t.numel();
            rounded.put(e.getKey(), t.rank() == 2 ? t.to(org.realmjava.tensor.DType.BF16).to(org.realmjava.tensor.DType.F32) : t);
        }
        BertEncoder roundedF32 = BertEncoder.fromParameters(f32.config, rounded);
        Map<String, Tensor> q = new java.util.LinkedHashMap<>();
        bf16.collectParameters("", q);
        assertEquals(org.realmjava.tensor.DType.BF16, q.get("encoder.layer.0.intermediate.dense.weight").dtype());
        assertEquals(org.realmjava.tensor.DType.BF16, q.get("embeddings.word_embeddings.weight").dtype());
        System.out.printf("bf16 weights: %.1f%% of %d parameters stored in bf16%n", 100.0 * bf16Params / allParams, allParams);

        List<String> texts = List.of("Hello world.", "The quick brown fox jumps over the lazy dog, twice!",
                "REALM retrieves documents from a corpus and marginalises over them.", "word ".repeat(150));
        List<Encoding> enc = new ArrayList<>();
        for (String t : texts) enc.add(tokenizer.encode(t, null, 512, WordPieceTokenizer.Truncation.LONGEST_FIRST));
        enc = tokenizer.pad(enc, 0);
        int b = enc.size(), len = enc.get(0).length();
        int[] ids = new int[b * len], types = new int[b * len];
        float[] mask = new float[b * len];
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < len; j++) {
                ids[i * len + j] = (int) enc.get(i).ids()[j];
                types[i * len + j] = (int) enc.get(i).typeIds()[j];
                mask[i * len + j] = enc.get(i).attentionMask()[j];
            }
        }
        Tensor maskT = Tensor.of(mask, b, len);
        Tensor h16, hRounded, h32;
        try (var g = Autograd.noGrad()) {
            h16 = bf16.forward(Tensor.ofInts(ids, b, len), Tensor.ofInts(types, b, len), maskT, null);
            hRounded = roundedF32.forward(Tensor.ofInts(ids, b, len), Tensor.ofInts(types, b, len), maskT, null);
            h32 = f32.forward(Tensor.ofInts(ids, b, len), Tensor.ofInts(types, b, len), maskT, null);
        }
        double maxDiff = 0;
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < len; j++) {
                if (mask[i * len + j] == 0) continue;
                for (int h = 0; h < 384; h++) maxDiff = Math.max(maxDiff, Math.abs(h16.get(i, j, h) - hRounded.get(i, j, h)));
            }
        }
        Tensor p16 = BertEncoder.poolMean(h16, maskT), p32 = BertEncoder.poolMean(h32, maskT);
        double minCos = 1, maxPoolDiff = 0;
        for (int i = 0; i < b; i++) {
            double dot = 0, n16 = 0, n32 = 0;
            for (int h = 0; h < 384; h++) {
                double x = p16.get(i, h), y = p32.get(i, h);
                dot += x * y;
                n16 += x * x;
                n32 += y * y;
                maxPoolDiff = Math.max(maxPoolDiff, Math.abs(x - y));
            }
            minCos = Math.min(minCos, dot / Math.sqrt(n16 * n32));
        }
        System.out.printf("bf16 weights: max |hidden diff| vs rounded-f32 weights %.2e; pooled vs f32: min cosine %.6f, max |diff| %.2e%n",
                maxDiff, minCos, maxPoolDiff);
        assertTrue(maxDiff <= 1e-4, "bf16-stored and bf16-rounded f32 weights differ by " + maxDiff);
        assertTrue(minCos >= 0.999, "bf16-weight pooled embeddings drift from f32: cosine " + minCos);
    }

    private void compareBatch(List<String> texts, int maxLen) throws Exception {
        List<Encoding> enc = new ArrayList<>();
        for (String t : texts) enc.add(tokenizer.encode(t, null, maxLen > 0 ? maxLen : 512, WordPieceTokenizer.Truncation.LONGEST_FIRST));
        enc = tokenizer.pad(enc, 0);
        int b = enc.size(), len = enc.get(0).length();
        long[][] ids = new long[b][len], mask = new long[b][len], types = new long[b][len];
        int[] idsI = new int[b * len], typesI = new int[b * len];
        float[] maskF = new float[b * len];
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < len; j++) {
                ids[i][j] = enc.get(i).ids()[j];
                mask[i][j] = enc.get(i).attentionMask()[j];
                types[i][j] = enc.get(i).typeIds()[j];
                idsI[i * len + j] = (int) ids[i][j];
                typesI[i * len + j] = (int) types[i][j];
                maskF[i * len + j] = mask[i][j];
            }
        }
        float[][][] expected;
        try (OnnxTensor ti = OnnxTensor.createTensor(env, ids); OnnxTensor tm = OnnxTensor.createTensor(env, mask);
             OnnxTensor tt = OnnxTensor.createTensor(env, types);
             OrtSession.Result r = session.run(Map.of("input_ids", ti, "attention_mask", tm, "token_type_ids", tt))) {
            expected = (float[][][]) r.get(0).getValue();
        }
        Tensor hidden;
        Tensor maskT = Tensor.of(maskF, b, len);
        try (var g = Autograd.noGrad()) {
            hidden = loaded.encoder().forward(Tensor.ofInts(idsI, b, len), Tensor.ofInts(typesI, b, len), maskT, null);
        }
        double maxDiff = 0, maxPadDiff = 0, atValue = 0;
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < len; j++) {
                for (int h = 0; h < 384; h++) {
                    double d = Math.abs(expected[i][j][h] - hidden.get(i, j, h));
                    if (mask[i][j] == 0) {
                        maxPadDiff = Math.max(maxPadDiff, d);
                    } else if (d > maxDiff) {
                        maxDiff = d;
                        atValue = expected[i][j][h];
                    }
                }
            }
        }
        System.out.printf("  real tokens: max diff %.2e at a value of %.3f; padding positions: max diff %.2e%n", maxDiff, atValue, maxPadDiff);
        // pooled (mean over real tokens), computed the same way from both
        Tensor pooled = BertEncoder.poolMean(hidden, maskT);
        double maxPoolDiff = 0;
        for (int i = 0; i < b; i++) {
            int real = enc.get(i).realTokens();
            for (int h = 0; h < 384; h++) {
                double s = 0;
                for (int j = 0; j < len; j++) if (mask[i][j] == 1) s += expected[i][j][h];
                maxPoolDiff = Math.max(maxPoolDiff, Math.abs(s / real - pooled.get(i, h)));
            }
        }
        System.out.printf("ORT parity: batch %d x %d tokens, max |hidden diff| %.2e, max |pooled diff| %.2e%n", b, len, maxDiff, maxPoolDiff);
        assertTrue(maxDiff <= 1e-4, "hidden states of real tokens differ from ONNX Runtime by " + maxDiff);
        // outputs at padding positions feed nothing (pooling and attention mask them out); they agree
        // to rounding of their own, larger, accumulations
        assertTrue(maxPadDiff <= 1e-3, "hidden states at padding positions differ from ONNX Runtime by " + maxPadDiff);
        assertTrue(maxPoolDiff <= 1e-4, "pooled embeddings differ from ONNX Runtime by " + maxPoolDiff);
    }
}
