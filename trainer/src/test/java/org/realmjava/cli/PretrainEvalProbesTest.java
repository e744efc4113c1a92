package org.realmjava.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.realmjava.trainer.synthetic.SyntheticWorld;

/**
 * `realm pretrain-eval --probes --predictions` on a small synthetic world: the per-probe lines
 * agree with the summary (span accuracy, recall@k, span accuracy reading the probes' own blocks).
 */
class PretrainEvalProbesTest {
    @TempDir
    Path dir;

    @Test
    void predictionsAgreeWithTheSummary() throws IOException {
        SyntheticWorld.World w = SyntheticWorld.generate(12, 2);
        SyntheticWorld.write(w, dir);
        Path config = dir.resolve("c.json");
        // threads: the pool this JVM already runs (tests share one)
        Files.writeString(config, """
                {"corpus": {"path": "corpus.jsonl"}, "checkpoint_dir": "run",
                 "init": {"random": {"layers": 1, "hidden": 32, "heads": 2, "intermediate": 64}},
                 "projection_dim": 16, "k": 2, "query_len": 48, "block_len": 48, "batch": 5, "seed": 3, "threads": %d}
                """.formatted(org.realmjava.tensor.parallel.Parallel.threads()));
        Path predictions = dir.resolve("predictions.jsonl");
        CliRun r = CliRun.of("pretrain-eval", "--config", config.toString(), "--checkpoint", "init", "--heldout", "0", "--examples", "0",
                "--probes", dir.resolve("probes.jsonl").toString(), "--predictions", predictions.toString(), "--k", "1,3");
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.out().strip().lines().toList();
        JsonNode summary = new ObjectMapper().readTree(lines.getLast());
        List<String> rows = Files.readAllLines(predictions);
        assertEquals(w.probes().size(), rows.size());
        int right = 0, reading = 0, at1 = 0, at3 = 0;
        ObjectMapper json = new ObjectMapper();
        for (int i = 0; i < rows.size(); i++) {
            JsonNode n = json.readTree(rows.get(i));
            assertEquals(i + 1, n.get("line").asInt());
            assertEquals(w.probes().get(i).mask(), n.get("mask").asText());
            assertTrue(n.get("predicted").isTextual());
            if (n.get("right").asBoolean()) right++;
            if (n.get("right_reading_its_blocks").asBoolean()) reading++;
            int rank = n.get("first_block_rank").asInt();
            assertTrue(rank >= -1 && rank < 3, rows.get(i));
            if (rank == 0) at1++;
            if (rank >= 0) at3++;
        }
        double n = rows.size();
        assertEquals(right / n, summary.get("span_accuracy").asDouble(), 1e-9);
        assertEquals(reading / n, summary.get("reading_span_accuracy").asDouble(), 1e-9);
        assertEquals(at1 / n, summary.get("recall@1").asDouble(), 1e-9);
        assertEquals(at3 / n, summary.get("recall@3").asDouble(), 1e-9);
        assertTrue(r.out().contains("span accuracy reading their blocks"), r.out());
    }
}
