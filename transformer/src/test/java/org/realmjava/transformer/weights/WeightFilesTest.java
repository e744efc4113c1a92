package org.realmjava.transformer.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.realmjava.tensor.Autograd;
import org.realmjava.tensor.Tensor;
import org.realmjava.transformer.bert.BertConfig;
import org.realmjava.transformer.bert.BertEncoder;
import org.realmjava.transformer.onnx.OnnxFormatException;

/** safetensors round trips exactly; bad weight files fail with one line and load nothing. */
class WeightFilesTest {
    @TempDir
    Path tmp;

    private static Tensor run(BertEncoder e) {
        int[] ids = {1, 17, 42, 2, 0};
        try (var g = Autograd.noGrad()) {
            return e.forward(Tensor.ofInts(ids, 1, 5), Tensor.ofInts(new int[5], 1, 5), Tensor.of(new float[] {1, 1, 1, 1, 0}, 1, 5), null);
        }
    }

    @Test
    void saveAndLoadGiveTheSameModel() throws Exception {
        BertEncoder a = BertEncoder.random(BertConfig.tiny(120, 32, 2, 4, 64, 16), 7);
        ModelFiles.save(a, tmp.resolve("m"));
        BertEncoder b = ModelFiles.load(tmp.resolve("m"));
        assertEquals(a.config, b.config);
        Map<String, Tensor> pa = a.namedParameters(), pb = b.namedParameters();
        assertEquals(pa.keySet(), pb.keySet());
        for (String k : pa.keySet()) assertArrayEquals(pa.get(k).toFloatArray(), pb.get(k).toFloatArray(), k);
        assertArrayEquals(run(a).toFloatArray(), run(b).toFloatArray());
    }

    @Test
    void badFilesFailWithOneLineNamingTheFile() throws Exception {
        BertEncoder a = BertEncoder.random(BertConfig.tiny(50, 16, 1, 2, 32, 8), 1);
        ModelFiles.save(a, tmp.resolve("m"));
        Path st = tmp.resolve("m/model.safetensors");
        byte[] good = Files.readAllBytes(st);
        Files.write(st, java.util.Arrays.copyOf(good, good.length - 100));
        var e1 = assertThrows(Safetensors.FormatException.class, () -> ModelFiles.load(tmp.resolve("m")));
        assertTrue(e1.getMessage().contains("model.safetensors") && e1.getMessage().contains("truncated"), e1.getMessage());
        byte[] bad = good.clone();
        bad[0] = (byte) 0xFF;
        bad[7] = 0x7F;
        Files.write(st, bad);
        assertTrue(assertThrows(Safetensors.FormatException.class, () -> ModelFiles.load(tmp.resolve("m"))).getMessage().contains("header length"));
        Files.write(st, good);
        // a config that does not fit the weights
        Files.writeString(tmp.resolve("m/config.json"), BertConfig.tiny(50, 16, 2, 2, 32, 8).toJson());
        var e2 = assertThrows(IllegalArgumentException.class, () -> ModelFiles.load(tmp.resolve("m")));
        assertTrue(e2.getMessage().contains("missing encoder.layer.1"), e2.getMessage());
        Files.writeString(tmp.resolve("m/config.json"), BertConfig.tiny(50, 16, 1, 2, 48, 8).toJson());
        var e3 = assertThrows(IllegalArgumentException.class, () -> ModelFiles.load(tmp.resolve("m")));
        assertTrue(e3.getMessage().contains("intermediate.dense") && e3.getMessage().contains("shape"), e3.getMessage());
        // a config of a model whose positions work differently: refused, not loaded as BERT
        Files.writeString(tmp.resolve("m/config.json"), BertConfig.tiny(50, 16, 1, 2, 32, 8).toJson().replace("\"bert\"", "\"roberta\""));
        var e5 = assertThrows(IllegalArgumentException.class, () -> ModelFiles.load(tmp.resolve("m")));
        assertTrue(e5.getMessage().contains("config.json") && e5.getMessage().contains("roberta"), e5.getMessage());
        // an ONNX file that is not one
        Files.writeString(tmp.resolve("x.onnx"), "definitely not protobuf \u0001\u0002");
        var e4 = assertThrows(OnnxFormatException.class, () -> ModelFiles.load(tmp.resolve("x.onnx")));
        assertTrue(e4.getMessage().contains("x.onnx"), e4.getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ModelFiles.load(tmp.resolve("nope"))).getMessage().contains("no such"));
    }
}
