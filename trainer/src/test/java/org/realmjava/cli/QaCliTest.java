package org.realmjava.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** realm finetune, ask and eval as a user runs them: output shapes, the last line of eval, and bad input (exit 2, one line, nothing written). */
class QaCliTest {
    @TempDir
    static Path dir;

    @BeforeAll
    static void fineTuneATinyModel() throws Exception {
        StringBuilder corpus = new StringBuilder(), qa = new StringBuilder();
        String[][] facts = {{"Lisbon", "Lisbon is the capital of Portugal.", "What is the capital of Portugal?", "Lisbon"},
            {"Vienna", "Vienna is the capital of Austria.", "What is the capital of Austria?", "Vienna"},
            {"Curie", "Marie Curie won the chemistry prize in 1911.", "When did Curie win the chemistry prize?", "1911"},
            {"Danube", "The Danube flows into the Black Sea.", "Where does the Danube flow?", "the Black Sea"}};
        for (int i = 0; i < facts.length; i++) {
            corpus.append(String.format("{\"id\": \"d%d\", \"title\": \"%s\", \"text\": \"%s\"}%n", i, facts[i][0], facts[i][1]));
            qa.append(String.format("{\"question\": \"%s\", \"answer\": [\"%s\"]}%n", facts[i][2], facts[i][3]));
        }
        Files.writeString(dir.resolve("corpus.jsonl"), corpus);
        Files.writeString(dir.resolve("qa.jsonl"), qa);
        Files.writeString(dir.resolve("trec.txt"), "{\"question\": \"When did Curie win the chemistry prize?\", \"answer\": [\"19[01]1\"]}\n");
        Files.writeString(dir.resolve("ft.json"), "{\"corpus\": {\"path\": \"corpus.jsonl\"}, \"train\": {\"path\": \"qa.jsonl\"},"
                + " \"init\": {\"random\": {\"layers\": 1, \"hidden\": 32, \"heads\": 2, \"intermediate\": 64}}, \"k\": 2, \"query_len\": 24, \"block_len\": 40,"
                + " \"batch\": 2, \"steps\": 4, \"lr\": 0.003, \"warmup\": 1, \"checkpoint_dir\": \"qa\", \"checkpoint_every\": 4, \"seed\": 1,"
                + " \"threads\": " + org.realmjava.tensor.parallel.Parallel.threads() + "}");
        CliRun r = CliRun.of("finetune", "--config", dir.resolve("ft.json").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("final checkpoint: "), r.err());
    }

    @Test
    void askPrintsAnswerAndEvidenceAndJson() throws Exception {
        CliRun r = CliRun.of("ask", "--checkpoint", dir.resolve("qa").toString(), "What", "is", "the", "capital", "of", "Portugal?");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("answer: ") && r.out().contains("evidence:") && r.out().contains(" 2. p(z|x) "), r.out());
        r = CliRun.of("ask", "--checkpoint", dir.resolve("qa").toString(), "--json", "--k", "9", "What is the capital of Austria?");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("--k 9 exceeds the corpus's 4 blocks; clamped to 4"), r.err());
        JsonNode n = new ObjectMapper().readTree(r.out());
        assertEquals(4, n.get("evidence").size());
        assertTrue(n.get("probability").asDouble() >= 0);
    }

    @Test
    void evalWritesPredictionsAndEndsWithEmAndRecall() throws Exception {
        Path out = dir.resolve("pred.jsonl");
        CliRun r = CliRun.of("eval", "--checkpoint", dir.resolve("qa").toString(), "--data", dir.resolve("qa.jsonl").toString(), "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.out().strip().lines().toList();
        assertTrue(lines.get(lines.size() - 1).matches("EM \\d+\\.\\d\\d recall@2 \\d+\\.\\d\\d"), lines.get(lines.size() - 1));
        assertTrue(r.out().contains("dense") && r.out().contains("bm25"), r.out());
        assertEquals(4, Files.readAllLines(out).size());
        JsonNode first = new ObjectMapper().readTree(Files.readAllLines(out).get(0));
        assertTrue(first.has("prediction") && first.has("exact_match") && first.has("dense_answer_rank") && first.has("bm25_answer_rank"), first.toString());
        // BM25 finds each fact's block by its words: recall@2 of bm25 is 100 on these questions
        assertTrue(r.out().lines().anyMatch(l -> l.matches("@2\\s+\\d+\\.\\d\\d\\s+100\\.00")), r.out());
        r = CliRun.of("eval", "--checkpoint", dir.resolve("qa").toString(), "--data", dir.resolve("trec.txt").toString(), "--out", dir.resolve("t.jsonl").toString(),
                "--retriever", "bm25");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().lines().anyMatch(l -> l.matches("@1\\s+\\d+\\.\\d\\d\\s+100\\.00")), "regex answer found by BM25 at rank 1: " + r.out());
    }

    @Test
    void badInputExitsTwoWithOneLineAndWritesNothing() throws Exception {
        Files.writeString(dir.resolve("empty.jsonl"), "\n");
        Files.writeString(dir.resolve("broken.jsonl"), "{\"question\": \"What is the capital of Austria?\", \"answer\": [\"Vienna\"]}\n{\"question\": \n");
        Path pre = dir.resolve("qa").resolve("step-0000004");
        String q = dir.resolve("qa").toString();
        Object[][] cases = {
            {new String[] {"ask", "--checkpoint", dir.resolve("nope").toString(), "a question"}, "no such checkpoint directory"},
            {new String[] {"ask", "--checkpoint", dir.toString(), "a question"}, "not a REALM checkpoint"},
            {new String[] {"ask", "--checkpoint", q, "   "}, "the question is empty"},
            {new String[] {"eval", "--checkpoint", q, "--data", dir.resolve("empty.jsonl").toString(), "--out", dir.resolve("x.jsonl").toString()}, "no questions"},
            {new String[] {"eval", "--checkpoint", q, "--data", dir.resolve("broken.jsonl").toString(), "--out", dir.resolve("x.jsonl").toString()},
                "broken.jsonl:2: not a JSON object"},
            {new String[] {"eval", "--checkpoint", q, "--data", dir.resolve("qa.jsonl").toString(), "--out", dir.resolve("x.jsonl").toString(), "--retriever", "tfidf"},
                "--retriever must be dense or bm25"},
        };
        for (Object[] c : cases) {
            String[] args = (String[]) c[0];
            CliRun r = CliRun.of(args);
            assertEquals(2, r.code(), String.join(" ", args) + ": " + r.err());
            List<String> err = r.err().strip().lines().filter(l -> !l.contains("INFO")).toList();
            assertEquals(1, err.size(), r.err());
            assertTrue(err.get(0).contains((String) c[1]) && !err.get(0).contains("Exception"), err.get(0));
        }
        assertFalse(Files.exists(dir.resolve("x.jsonl")));
        // a pre-training-like checkpoint: the model without the Open-QA files
        Path bare = dir.resolve("bare");
        Files.createDirectories(bare);
        for (String f : new String[] {"realm-model.json", "heads.safetensors"}) Files.copy(pre.resolve(f), bare.resolve(f));
        org.realmjava.trainer.checkpoint.Checksums.write(bare); // intact, only without the Open-QA files
        CliRun r = CliRun.of("ask", "--checkpoint", bare.toString(), "a question");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("without a span reader") && r.err().contains("realm finetune"), r.err());
        // --skip-bad-lines goes on without the broken line, and says so
        r = CliRun.of("eval", "--checkpoint", q, "--data", dir.resolve("broken.jsonl").toString(), "--out", dir.resolve("y.jsonl").toString(), "--skip-bad-lines");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("skipped ") && r.err().contains("broken.jsonl:2"), r.err());
        assertEquals(1, Files.readAllLines(dir.resolve("y.jsonl")).size());
    }
}
