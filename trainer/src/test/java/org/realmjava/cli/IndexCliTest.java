package org.realmjava.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.realmjava.mips.BruteForceSearch;
import org.realmjava.mips.FloatMatrix;
import org.realmjava.mips.SearchOptions;
import org.realmjava.mips.SearchResult;
import org.realmjava.mips.VectorFiles;

/** The index CLI contract of DESIGN.md: TSV lines, 0-based query numbers and ids, ranks from 1, exit 2 on bad input. */
class IndexCliTest {
    @TempDir
    Path tmp;

    private static String[] run(String... args) {
        return CliRun.of(args).asArray();
    }

    private static FloatMatrix random(Random rng, int rows, int dim) {
        float[] v = new float[rows * dim];
        for (int i = 0; i < v.length; i++) v[i] = (float) rng.nextGaussian();
        return new FloatMatrix(v, rows, dim);
    }

    @Test
    void buildThenSearchWritesTheContractTsv() throws Exception {
        Random rng = new Random(1);
        FloatMatrix db = random(rng, 500, 12), q = random(rng, 4, 12);
        VectorFiles.writeNpy(tmp.resolve("db.npy"), db);
        VectorFiles.writeFvecs(tmp.resolve("q.fvecs"), q);
        String[] b = run("index", "build", "--vectors", tmp.resolve("db.npy").toString(), "--out", tmp.resolve("ix").toString());
        assertEquals("0", b[0], b[2]);
        Files.writeString(tmp.resolve("ex.txt"), "-1\n7\n\n-1\n");
        String[] s = run("index", "search", "--index", tmp.resolve("ix").toString(), "--queries", tmp.resolve("q.fvecs").toString(),
                "--k", "5", "--batch", "3", "--exclude", tmp.resolve("ex.txt").toString(), "--out", tmp.resolve("r.tsv").toString());
        assertEquals("0", s[0], s[2]);
        assertTrue(s[2].contains("searched 4 queries, k=5") && s[2].contains("queries/s"), s[2]);
        List<String> lines = Files.readAllLines(tmp.resolve("r.tsv"));
        assertEquals(20, lines.size());
        SearchResult ref = BruteForceSearch.search(db, null, q, 5, new SearchOptions(new long[] {-1, 7, -1, -1}, null));
        for (int i = 0; i < lines.size(); i++) {
            String[] f = lines.get(i).split("\t");
            int query = i / 5, rank = i % 5;
            assertEquals(String.valueOf(query), f[0]);
            assertEquals(String.valueOf(rank + 1), f[1]);
            assertEquals(ref.id(query, rank), Long.parseLong(f[2]), lines.get(i));
            assertEquals(ref.score(query, rank), Float.parseFloat(f[3]), lines.get(i));
        }
    }

    @Test
    void badInputsExitTwoWithOneLine() throws Exception {
        Random rng = new Random(2);
        VectorFiles.writeNpy(tmp.resolve("db.npy"), random(rng, 50, 8));
        VectorFiles.writeNpy(tmp.resolve("q.npy"), random(rng, 2, 6));
        assertEquals("0", run("index", "build", "--vectors", tmp.resolve("db.npy").toString(), "--out", tmp.resolve("ix").toString())[0]);
        Files.writeString(tmp.resolve("bad.npy"), "not numpy at all");
        String[][] cases = {
            {"index", "search", "--index", tmp.resolve("ix").toString(), "--queries", tmp.resolve("q.npy").toString(), "--k", "3", "--out", tmp.resolve("r.tsv").toString()},
            {"index", "search", "--index", tmp.resolve("nope").toString(), "--queries", tmp.resolve("q.npy").toString(), "--k", "3", "--out", tmp.resolve("r.tsv").toString()},
            {"index", "build", "--vectors", tmp.resolve("bad.npy").toString(), "--out", tmp.resolve("ix2").toString()},
            {"index", "build", "--vectors", tmp.resolve("db.npy").toString(), "--dtype", "f16", "--out", tmp.resolve("ix3").toString()},
            {"index", "search", "--index", tmp.resolve("ix").toString(), "--k", "3"},
        };
        for (String[] c : cases) {
            String[] r = run(c);
            assertEquals("2", r[0], String.join(" ", c) + " -> " + r[2]);
            assertEquals(1, r[2].strip().lines().count(), r[2]);
            assertTrue(!r[2].contains("Exception") && !r[2].contains("\tat "), r[2]);
        }
        assertTrue(!Files.exists(tmp.resolve("r.tsv")), "no partial output on failure");
    }
}
