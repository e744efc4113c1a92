package org.realmjava.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.realmjava.mips.FloatMatrix;
import org.realmjava.mips.VectorFiles;

/** realm encode: one row per input line, in order, with the built-in model; bad input exits 2 with one line. */
class EncodeCliTest {
    @TempDir
    Path tmp;

    private static String[] run(String... args) {
        return CliRun.of(args).asArray();
    }

    @Test
    void encodesEveryLineInOrderWithTheBuiltInModel() throws Exception {
        Files.writeString(tmp.resolve("in.txt"), "a cat sat on the mat\n\nREALM retrieves documents.\na cat sat on the mat\n");
        String[] r = run("encode", "--input", tmp.resolve("in.txt").toString(), "--output", tmp.resolve("e.npy").toString(), "--batch", "2");
        assertEquals("0", r[0], r[2]);
        assertTrue(r[2].contains("encoded 4 texts") && r[2].contains("tokens/s"), r[2]);
        FloatMatrix m = VectorFiles.readAll(tmp.resolve("e.npy"));
        assertEquals(4, m.rows());
        assertEquals(384, m.dim());
        // identical lines give identical rows, wherever batching put them
        for (int j = 0; j < 384; j++) assertEquals(m.get(0, j), m.get(3, j), 1e-6f);
        double diff = 0;
        for (int j = 0; j < 384; j++) diff += Math.abs(m.get(0, j) - m.get(2, j));
        assertTrue(diff > 1e-2, "different texts must give different vectors");
    }

    @Test
    void bf16WeightsGiveNearlyTheSameEmbeddings() throws Exception {
        Files.writeString(tmp.resolve("in.txt"), "a cat sat on the mat\nREALM retrieves documents.\n");
        String[] f = run("encode", "--input", tmp.resolve("in.txt").toString(), "--output", tmp.resolve("f.npy").toString());
        String[] h = run("encode", "--input", tmp.resolve("in.txt").toString(), "--output", tmp.resolve("h.npy").toString(), "--weights", "bf16");
        assertEquals("0", f[0], f[2]);
        assertEquals("0", h[0], h[2]);
        FloatMatrix a = VectorFiles.readAll(tmp.resolve("f.npy")), b = VectorFiles.readAll(tmp.resolve("h.npy"));
        for (int i = 0; i < 2; i++) {
            double dot = 0, na = 0, nb = 0, diff = 0;
            for (int j = 0; j < 384; j++) {
                dot += a.get(i, j) * b.get(i, j);
                na += a.get(i, j) * a.get(i, j);
                nb += b.get(i, j) * b.get(i, j);
                diff = Math.max(diff, Math.abs(a.get(i, j) - b.get(i, j)));
            }
            assertTrue(dot / Math.sqrt(na * nb) > 0.999, "row " + i + " cosine " + dot / Math.sqrt(na * nb));
            assertTrue(diff > 0, "bf16 weights must actually change the arithmetic");
        }
    }

    @Test
    void badArgumentsExitTwoWithOneLine() throws Exception {
        Files.writeString(tmp.resolve("in.txt"), "hello\n");
        String[][] cases = {
            {"encode", "--input", tmp.resolve("missing.txt").toString(), "--output", tmp.resolve("e.npy").toString()},
            {"encode", "--input", tmp.resolve("in.txt").toString(), "--output", tmp.resolve("e.npy").toString(), "--pooling", "max"},
            {"encode", "--input", tmp.resolve("in.txt").toString(), "--output", tmp.resolve("e.npy").toString(), "--model", tmp.resolve("nope.onnx").toString(), "--tokenizer", tmp.resolve("in.txt").toString()},
            {"encode", "--input", tmp.resolve("in.txt").toString(), "--output", tmp.resolve("e.npy").toString(), "--model", tmp.resolve("in.txt").toString()},
            {"encode", "--input", tmp.resolve("in.txt").toString(), "--output", tmp.resolve("e.npy").toString(), "--weights", "f16"},
        };
        for (String[] c : cases) {
            String[] r = run(c);
            assertEquals("2", r[0], String.join(" ", c) + " -> " + r[2]);
            assertEquals(1, r[2].strip().lines().filter(l -> !l.contains("INFO")).count(), r[2]);
        }
        assertTrue(!Files.exists(tmp.resolve("e.npy")));
        Files.write(tmp.resolve("latin1.txt"), new byte[] {'o', 'k', '\n', 'c', 'a', 'f', (byte) 0xE9, '\n'});
        String[] r = run("encode", "--input", tmp.resolve("latin1.txt").toString(), "--output", tmp.resolve("e.npy").toString());
        assertEquals("2", r[0]);
        assertTrue(r[2].contains("latin1.txt:2: not UTF-8 text"), r[2]);
        r = run("encode", "--input", tmp.toString(), "--output", tmp.resolve("e.npy").toString());
        assertEquals("2", r[0]);
        assertTrue(r[2].contains(tmp + ": is a directory, not a text file"), r[2]);
    }
}
