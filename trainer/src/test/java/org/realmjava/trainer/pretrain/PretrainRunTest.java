package org.realmjava.trainer.pretrain;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.realmjava.trainer.checkpoint.CheckpointDirectory;
import org.realmjava.trainer.config.ConfigException;
import org.realmjava.trainer.config.PretrainConfig;
import org.realmjava.trainer.retrieval.BlockInputs;
import org.realmjava.trainer.train.TrainingListener;
import org.realmjava.trainer.train.GuardedUpdate;

/**
 * Pre-training end to end on a tiny random BERT: it learns, the refresh schedule and checkpoints do
 * what the config says, an interrupted-and-resumed run repeats the uninterrupted one bit for bit,
 * and bad configs fail with one line naming the key.
 */
class PretrainRunTest {
    @TempDir
    Path dir;

    private static final String[] FACTS = {
        "The Hudson River flows through New York and reaches the sea in %d.",
        "Marie Curie won a prize in %d for work on radium and polonium.",
        "The city of Lisbon was struck by an earthquake in %d and rebuilt.",
        "Mount Everest was first climbed by Tenzing Norgay in %d with a partner.",
        "The Danube passes Vienna and Budapest before the Black Sea in %d.",
    };

    private Path corpus() throws IOException {
        Path c = dir.resolve("corpus.jsonl");
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 30; i++) {
            String text = String.format(FACTS[i % FACTS.length], 1700 + i) + " It is one of " + (i + 3) + " examples in this small corpus.";
            sb.append(String.format("{\"id\": \"d%d\", \"title\": \"Doc %d\", \"text\": \"%s\"}%n", i, i, text));
        }
        Files.writeString(c, sb.toString());
        return c;
    }

    private Path config(String name, String extra) throws IOException {
        corpus();
        Path f = dir.resolve(name + ".json");
        Files.writeString(f, "{\"corpus\": {\"path\": \"corpus.jsonl\"}, \"init\": {\"random\": {\"layers\": 1, \"hidden\": 32, \"heads\": 2, \"intermediate\": 64}},"
                + " \"projection_dim\": 16, \"k\": 3, \"query_len\": 32, \"block_len\": 48, \"batch\": 2, \"steps\": 8, \"lr\": 0.002, \"warmup\": 2,"
                + " \"refresh_every\": 2, \"checkpoint_dir\": \"" + name + "\", \"checkpoint_every\": 4, \"keep_checkpoints\": 2, \"seed\": 5,"
                + " \"threads\": " + org.realmjava.tensor.parallel.Parallel.threads() + extra + "}");
        return f;
    }

    private static final class Stop extends RuntimeException {}

    private static List<String> losses(Path runDir) throws IOException {
        List<String> out = new ArrayList<>();
        ObjectMapper json = new ObjectMapper();
        for (String line : Files.readAllLines(runDir.resolve("metrics.jsonl"))) {
            JsonNode n = json.readTree(line);
            out.add(n.get("step").asText() + ":" + n.get("loss").asText() + ":" + n.get("index_generation").asText() + ":" + n.get("staleness").asText());
        }
        return out;
    }

    @Test
    void aResumedRunRepeatsTheUninterruptedOneBitForBit() throws IOException {
        PretrainConfig a = PretrainConfig.read(config("a", ""));
        try (PretrainRun run = PretrainRun.open(a, TrainingListener.SILENT)) {
            assertEquals(dir.resolve("a").resolve("step-0000008"), run.run());
        }
        PretrainConfig b = PretrainConfig.read(config("b", ""));
        TrainingListener stopAfterFirst = new TrainingListener() {
            @Override
            public void checkpoint(Path d) {
                throw new Stop();
            }
        };
        try (PretrainRun run = PretrainRun.open(b, stopAfterFirst)) {
            assertThrows(Stop.class, run::run);
        }
        // a half-written checkpoint left by a kill is ignored and removed
        Files.createDirectories(dir.resolve("b").resolve(".tmp-step-0000008"));
        try (PretrainRun run = PretrainRun.open(b, TrainingListener.SILENT)) {
            assertEquals(4, run.startStep());
            run.run();
        }
        assertEquals(losses(dir.resolve("a")), losses(dir.resolve("b")));
        for (String f : new String[] {"query/model.safetensors", "doc/model.safetensors", "reader/model.safetensors", "heads.safetensors",
                "optimizer.bin", "index-live.npy"}) {
            assertArrayEquals(Files.readAllBytes(dir.resolve("a/step-0000008/" + f)), Files.readAllBytes(dir.resolve("b/step-0000008/" + f)), f);
        }
        // refresh every 2 steps: a snapshot taken at step 2 is live from step 4, so staleness is 2 or 3 from there
        List<String> l = losses(dir.resolve("a"));
        assertEquals(8, l.size());
        assertTrue(l.get(0).endsWith(":0:0"), l.get(0));
        assertTrue(l.get(4).endsWith(":1:2") && l.get(5).endsWith(":1:3") && l.get(7).endsWith(":2:3"), l.toString());
        assertEquals(List.of(dir.resolve("a/step-0000004"), dir.resolve("a/step-0000008")), CheckpointDirectory.list(dir.resolve("a")));
        assertTrue(Files.size(dir.resolve("a/loss.png")) > 1000 && Files.size(dir.resolve("a/utility.png")) > 1000);
    }

    @Test
    void itLearnsAndTheBaselineReadsOnlyTheNullDocument() throws IOException {
        PretrainConfig c = PretrainConfig.read(config("learn", ", \"retrieval\": false, \"steps\": 40, \"checkpoint_every\": 40, \"lr\": 0.005"));
        try (PretrainRun run = PretrainRun.open(c, TrainingListener.SILENT)) {
            run.run();
        }
        List<Double> loss = new ArrayList<>();
        ObjectMapper json = new ObjectMapper();
        for (String line : Files.readAllLines(dir.resolve("learn/metrics.jsonl"))) {
            JsonNode n = json.readTree(line);
            loss.add(n.get("loss").asDouble());
            assertEquals(0.0, n.get("entropy").asDouble(), "one candidate: p(z|x) = 1");
        }
        double first = (loss.get(0) + loss.get(1) + loss.get(2)) / 3, last = (loss.get(37) + loss.get(38) + loss.get(39)) / 3;
        assertTrue(last < first - 1.0, "loss should fall: first " + first + ", last " + last);
    }

    @Test
    void badConfigsFailWithOneLineNamingTheKey() throws IOException {
        assertEquals("config unknown.json: unknown key 'frobnicate' (known here: " + "accumulate, batch, block_len, candidates, checkpoint_dir, checkpoint_every, corpus, heldout, ict, init, k, keep_checkpoints, lr, marginal, masking, projection_dim, query_context, query_len, reader_warmup, recompute_layers, refresh_batch, refresh_every, retrieval, retriever_loss, retriever_lr_scale, retriever_temperature, seed, shared_towers, steps, threads, train_doc_tower, warmup, warmup_answer_blocks, warmup_distractors, warmup_k, warmup_own_block, warmup_swap_answers, warmup_without_null)",
                assertThrows(ConfigException.class, () -> PretrainConfig.read(config("unknown", ", \"frobnicate\": 1"))).getMessage());
        assertEquals("config typed.json: 'k' must be an integer, got \"8\"",
                assertThrows(ConfigException.class, () -> PretrainConfig.read(config("typed", ", \"k\": \"8\"").toString().isEmpty() ? null
                        : rewrite(config("typed", ""), "\"k\": 3", "\"k\": \"8\""))).getMessage());
        assertTrue(assertThrows(ConfigException.class, () -> PretrainConfig.read(rewrite(config("nested", ""), "\"layers\": 1", "\"layers\": 1, \"depth\": 2")))
                .getMessage().contains("unknown key 'init.random.depth'"));
        assertTrue(assertThrows(ConfigException.class, () -> PretrainConfig.read(rewrite(config("dropout", ""), "\"layers\": 1", "\"layers\": 1, \"dropout\": 1.5")))
                .getMessage().contains("'init.random.dropout'"));
        assertEquals(0.0, PretrainConfig.read(rewrite(config("nodropout", ""), "\"layers\": 1", "\"layers\": 1, \"dropout\": 0")).init().random().dropout());
        assertTrue(PretrainConfig.read(rewrite(config("mimetic", ""), "\"layers\": 1", "\"layers\": 1, \"mimetic\": true")).init().random().mimetic());
        assertTrue(assertThrows(ConfigException.class, () -> PretrainConfig.read(rewrite(config("mimetic2", ""), "\"layers\": 1", "\"layers\": 1, \"mimetic\": 1")))
                .getMessage().contains("'init.random.mimetic'"));
        assertTrue(assertThrows(ConfigException.class, () -> PretrainConfig.read(rewrite(config("masking", ""), "\"seed\"", "\"masking\": \"entities\", \"seed\"")))
                .getMessage().contains("'masking' must be salient, random-span or random-token"));
        PretrainConfig bigK = PretrainConfig.read(rewrite(config("bigk", ""), "\"k\": 3", "\"k\": 300"));
        assertEquals("config bigk.json: 'k' (300) must be smaller than the corpus's 30 blocks (a query's own block is never a candidate)",
                assertThrows(ConfigException.class, () -> PretrainRun.open(bigK, TrainingListener.SILENT)).getMessage());
    }

    @Test
    void aCheckpointDirOfAnotherModelIsRefused() throws IOException {
        PretrainConfig c = PretrainConfig.read(config("other", ", \"steps\": 2, \"checkpoint_every\": 2"));
        try (PretrainRun run = PretrainRun.open(c, TrainingListener.SILENT)) {
            run.run();
        }
        PretrainConfig wider = PretrainConfig.read(rewrite(config("other", ", \"steps\": 2, \"checkpoint_every\": 2"), "\"hidden\": 32", "\"hidden\": 64"));
        String msg = assertThrows(ConfigException.class, () -> PretrainRun.open(wider, TrainingListener.SILENT)).getMessage();
        assertTrue(msg.startsWith("checkpoint_dir " + dir.resolve("other") + " holds a run of another model"), msg);
    }

    @Test
    void aResumeWithOtherSettingsDataOrKindIsRefusedWithOneLineNamingIt() throws IOException {
        PretrainConfig c = PretrainConfig.read(config("same", ", \"steps\": 2, \"checkpoint_every\": 2"));
        try (PretrainRun run = PretrainRun.open(c, TrainingListener.SILENT)) {
            run.run();
        }
        // more steps, other checkpointing and refresh batches: a resume may change those
        PretrainConfig longer = PretrainConfig.read(config("same", ", \"steps\": 3, \"checkpoint_every\": 3, \"refresh_batch\": 7"));
        try (PretrainRun run = PretrainRun.open(longer, TrainingListener.SILENT)) {
            assertEquals(2, run.startStep());
        }
        PretrainConfig otherLr = PretrainConfig.read(rewrite(config("same", ", \"steps\": 3"), "\"lr\": 0.002", "\"lr\": 0.003"));
        assertEquals("checkpoint_dir " + dir.resolve("same") + " was trained with 'lr' 0.002 (this config: 0.003): use another checkpoint_dir, or that value",
                assertThrows(ConfigException.class, () -> PretrainRun.open(otherLr, TrainingListener.SILENT)).getMessage());
        PretrainConfig otherMasking = PretrainConfig.read(config("same", ", \"steps\": 3, \"masking\": \"random-span\""));
        String masking = assertThrows(ConfigException.class, () -> PretrainRun.open(otherMasking, TrainingListener.SILENT)).getMessage();
        assertTrue(masking.contains("was trained with 'masking'"), masking);
        Files.writeString(dir.resolve("corpus.jsonl"), Files.readString(dir.resolve("corpus.jsonl")).replace("Lisbon", "Porto"));
        PretrainConfig otherCorpus = PretrainConfig.read(dir.resolve("same.json"));
        String data = assertThrows(ConfigException.class, () -> PretrainRun.open(otherCorpus, TrainingListener.SILENT)).getMessage();
        assertTrue(data.startsWith("checkpoint_dir " + dir.resolve("same") + " was trained on other data (30 blocks, "), data);
        // an ICT run in a pre-training folder
        Path ict = dir.resolve("ict-here.json");
        Files.writeString(ict, "{\"corpus\": {\"path\": \"corpus.jsonl\"}, \"init\": {\"random\": {\"layers\": 1, \"hidden\": 32, \"heads\": 2, \"intermediate\": 64}},"
                + " \"projection_dim\": 16, \"batch\": 4, \"steps\": 2, \"checkpoint_dir\": \"same\", \"threads\": " + org.realmjava.tensor.parallel.Parallel.threads() + "}");
        assertEquals("checkpoint_dir " + dir.resolve("same") + " holds a pretrain run, not ict: use another checkpoint_dir",
                assertThrows(ConfigException.class, () -> IctRun.open(org.realmjava.trainer.config.IctConfig.read(ict), TrainingListener.SILENT)).getMessage());
    }

    private static java.util.Map<String, float[]> weights(java.util.Map<String, org.realmjava.tensor.Tensor> params, String prefix) {
        java.util.Map<String, float[]> out = new java.util.TreeMap<>();
        params.forEach((n, t) -> { if (n.startsWith(prefix)) out.put(n, t.toFloatArray()); });
        return out;
    }

    private static java.util.Map<String, float[]> subset(java.util.Map<String, float[]> all, String prefix) {
        java.util.Map<String, float[]> out = new java.util.TreeMap<>();
        all.forEach((n, v) -> { if (n.startsWith(prefix)) out.put(n, v); });
        return out;
    }

    private static void assertSameWeights(java.util.Map<String, float[]> a, java.util.Map<String, float[]> b, String what) {
        assertEquals(a.keySet(), b.keySet(), what);
        for (String n : a.keySet()) assertArrayEquals(a.get(n), b.get(n), what + ": " + n);
    }

    @Test
    void theReaderWarmupLeavesTheRetrieverAloneAndAFrozenDocumentTowerStaysFrozen() throws IOException {
        PretrainConfig warm = PretrainConfig.read(config("warm", ", \"reader_warmup\": 3, \"steps\": 4, \"checkpoint_every\": 4, \"candidates\": 6, \"warmup_own_block\": true"));
        var model = new java.util.concurrent.atomic.AtomicReference<org.realmjava.trainer.model.RealmModel>();
        List<java.util.Map<String, float[]>> afterStep = new ArrayList<>();
        TrainingListener snapshots = new TrainingListener() {
            @Override
            public void step(long step, String summary) {
                afterStep.add(weights(model.get().namedParameters(), ""));
            }
        };
        java.util.Map<String, float[]> start;
        try (PretrainRun run = PretrainRun.open(warm, snapshots)) {
            model.set(run.model());
            start = weights(run.model().namedParameters(), "");
            run.run();
        }
        var warmedUp = afterStep.get(2);
        for (String tower : new String[] {"query.", "query_projection.", "doc.", "doc_projection."}) {
            assertSameWeights(subset(start, tower), subset(warmedUp, tower), tower + " after the reader warm-up");
        }
        assertTrue(!java.util.Arrays.equals(start.get("reader.embeddings.word_embeddings.weight"), warmedUp.get("reader.embeddings.word_embeddings.weight")),
                "the reader trains during its warm-up");
        assertTrue(!java.util.Arrays.equals(start.get("query.embeddings.word_embeddings.weight"), afterStep.get(3).get("query.embeddings.word_embeddings.weight")),
                "the query tower trains after the warm-up");
        List<String> stages = new ArrayList<>();
        for (String line : Files.readAllLines(dir.resolve("warm/metrics.jsonl"))) stages.add(new ObjectMapper().readTree(line).get("stage").asText());
        assertEquals(List.of("reader-warmup", "reader-warmup", "reader-warmup", "realm"), stages);
        // no refresh while the document tower does not change (refresh_every 2: the first would start at step 2)
        for (String line : Files.readAllLines(dir.resolve("warm/metrics.jsonl"))) assertEquals(0, new ObjectMapper().readTree(line).get("index_generation").asInt());

        PretrainConfig frozen = PretrainConfig.read(config("frozen", ", \"train_doc_tower\": false, \"retriever_loss\": \"posterior\", \"steps\": 3, \"checkpoint_every\": 3"));
        try (PretrainRun run = PretrainRun.open(frozen, TrainingListener.SILENT)) {
            var doc = weights(run.model().namedParameters(), "doc");
            var query = weights(run.model().namedParameters(), "query.");
            run.run();
            assertSameWeights(doc, weights(run.model().namedParameters(), "doc"), "a frozen document tower");
            assertTrue(!java.util.Arrays.equals(query.get("query.embeddings.word_embeddings.weight"),
                    weights(run.model().namedParameters(), "query.").get("query.embeddings.word_embeddings.weight")), "the query tower trains");
        }
        for (String line : Files.readAllLines(dir.resolve("frozen/metrics.jsonl"))) {
            JsonNode n = new ObjectMapper().readTree(line);
            assertEquals(0, n.get("index_generation").asInt(), "a frozen document tower needs no refresh");
            assertTrue(Double.isFinite(n.get("loss").asDouble()), line);
        }
    }

    @Test
    void anIctStageRunsFirstAndRealmStartsFromItsCheckpoint() throws IOException {
        PretrainConfig c = PretrainConfig.read(config("staged", ", \"steps\": 2, \"checkpoint_every\": 2, \"ict\": {\"steps\": 3, \"batch\": 4, \"lr\": 0.002}"));
        Path last = PretrainRun.runStages(c, TrainingListener.SILENT);
        assertEquals(dir.resolve("staged/step-0000002"), last);
        assertTrue(Files.exists(dir.resolve("staged/ict/step-0000003/realm-model.json")));
        assertEquals(3, Files.readAllLines(dir.resolve("staged/ict/metrics.jsonl")).size());
        // the same command again: both stages are done, nothing trains, the same checkpoint comes back
        assertEquals(last, PretrainRun.runStages(c, TrainingListener.SILENT));
        assertEquals(2, Files.readAllLines(dir.resolve("staged/metrics.jsonl")).size());
    }

    @Test
    void theShippedPretrainingConfigsRead() throws IOException {
        try (var files = Files.list(Path.of("..", "configs", "experiments"))) {
            for (Path f : files.filter(p -> p.getFileName().toString().matches("(synthetic|squad-realm|squad-no).*\\.json")).toList()) {
                PretrainConfig c = PretrainConfig.read(f);
                assertTrue(c.steps() > 0, f.toString());
            }
        }
    }

    @Test
    void ictTrainsTheRetrieverAndItsCheckpointStartsPretraining() throws IOException {
        corpus();
        Path ict = dir.resolve("ict.json");
        Files.writeString(ict, "{\"corpus\": {\"path\": \"corpus.jsonl\"}, \"init\": {\"random\": {\"layers\": 1, \"hidden\": 32, \"heads\": 2, \"intermediate\": 64}},"
                + " \"projection_dim\": 16, \"query_len\": 32, \"block_len\": 48, \"batch\": 8, \"steps\": 60, \"lr\": 0.005, \"warmup\": 4, \"remove_sentence\": 0.0,"
                + " \"checkpoint_dir\": \"ict\", \"checkpoint_every\": 30, \"seed\": 2, \"threads\": " + org.realmjava.tensor.parallel.Parallel.threads() + "}");
        // the query sentence stays in its block here (remove_sentence 0): the corpus's other sentence is the same in every block
        Path last = IctRun.open(org.realmjava.trainer.config.IctConfig.read(ict), TrainingListener.SILENT).run();
        assertEquals(dir.resolve("ict/step-0000060"), last);
        List<Double> loss = new ArrayList<>(), acc = new ArrayList<>();
        ObjectMapper json = new ObjectMapper();
        for (String line : Files.readAllLines(dir.resolve("ict/metrics.jsonl"))) {
            JsonNode n = json.readTree(line);
            loss.add(n.get("loss").asDouble());
            acc.add(n.get("in_batch_accuracy").asDouble());
        }
        double firstLoss = loss.subList(0, 5).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
        double lastLoss = loss.subList(55, 60).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
        double lastAcc = acc.subList(55, 60).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
        // 8 in-batch candidates: chance is log 8 = 2.08 nats and 1/8 accuracy; 60 steps reach ~1.45 nats and ~0.3
        assertTrue(firstLoss > 1.9 && lastLoss < firstLoss - 0.5 && lastAcc > 0.25, "ICT loss " + firstLoss + " -> " + lastLoss + ", accuracy " + lastAcc);
        // the ICT checkpoint is a pre-training init
        PretrainConfig c = PretrainConfig.read(rewrite(config("fromict", ", \"steps\": 2, \"checkpoint_every\": 2"), "\"init\": {\"random\": {\"layers\": 1, \"hidden\": 32, \"heads\": 2, \"intermediate\": 64}}",
                "\"init\": {\"checkpoint\": \"ict\"}"));
        try (PretrainRun run = PretrainRun.open(c, TrainingListener.SILENT)) {
            run.run();
        }
        assertTrue(Files.exists(dir.resolve("fromict/step-0000002/realm-model.json")));
    }

    @Test
    void nonFiniteLossesAreSkippedCountedAndStopTheRunAfterTen() throws IOException {
        PretrainConfig c = PretrainConfig.read(config("nan", ", \"steps\": 30, \"checkpoint_every\": 30"));
        try (PretrainRun run = PretrainRun.open(c, TrainingListener.SILENT)) {
            // a NaN in the reader's MLM bias makes every loss NaN
            run.model().mlm.decoderBias.set(Float.NaN, 7);
            var e = assertThrows(GuardedUpdate.TrainingStopped.class, run::run);
            assertEquals("10 steps in a row (0 to 9) had a non-finite loss, gradient, weight or optimizer state; stopping (lower lr, or check the data)", e.getMessage());
        }
        List<String> lines = Files.readAllLines(dir.resolve("nan/metrics.jsonl"));
        assertEquals(10, lines.size());
        JsonNode last = new ObjectMapper().readTree(lines.get(9));
        assertEquals(10, last.get("skipped_steps").asInt());
        assertTrue(last.get("loss").isNull(), lines.get(9));
    }

    @Test
    void aNonFiniteOptimizerMomentSkipsTheUpdateLikeANonFiniteLoss() throws IOException {
        PretrainConfig c = PretrainConfig.read(config("moment", ", \"steps\": 12, \"checkpoint_every\": 12"));
        try (PretrainRun run = PretrainRun.open(c, TrainingListener.SILENT)) {
            var p = run.model().namedParameters();
            var before = p.get("reader.embeddings.word_embeddings.weight").toFloatArray();
            // a damaged moment: the loss and the gradients stay finite, the update would write NaN
            run.trainer().optimizer.firstMoment("reader.embeddings.word_embeddings.weight").set(Float.NaN, 3, 1);
            var e = assertThrows(GuardedUpdate.TrainingStopped.class, run::run);
            assertTrue(e.getMessage().startsWith("10 steps in a row (0 to 9) had a non-finite"), e.getMessage());
            assertArrayEquals(before, p.get("reader.embeddings.word_embeddings.weight").toFloatArray(), "no update was applied");
        }
        for (String line : Files.readAllLines(dir.resolve("moment/metrics.jsonl"))) {
            JsonNode n = new ObjectMapper().readTree(line);
            assertTrue(Double.isFinite(n.get("mlm_accuracy").asDouble()) && n.get("loss").isNull(), line);
        }
    }

    @Test
    void sharedTowersSaveOneRetrieverBertAndResume() throws IOException {
        PretrainConfig c = PretrainConfig.read(config("shared", ", \"shared_towers\": true, \"steps\": 4, \"checkpoint_every\": 2"));
        try (PretrainRun run = PretrainRun.open(c, TrainingListener.SILENT)) {
            assertTrue(run.model().queryTower == run.model().docTower);
            run.run();
        }
        assertTrue(Files.exists(dir.resolve("shared/step-0000004/query/model.safetensors")));
        assertTrue(!Files.exists(dir.resolve("shared/step-0000004/doc")), "shared towers: no doc/ directory");
        var loaded = org.realmjava.trainer.checkpoint.ModelStore.load(dir.resolve("shared/step-0000004"));
        assertTrue(loaded.queryTower == loaded.docTower);
    }

    /** recompute_layers changes what the step keeps in memory (reader and document tower), not what it computes: without dropout the run is the same bit for bit. */
    @Test
    void recomputingTheReaderGivesTheSameRun() throws IOException {
        for (String run : new String[] {"kept", "recomputed"}) {
            Path cfg = config(run, run.equals("kept") ? "" : ", \"recompute_layers\": true");
            // two layers, so that a recomputed layer's input gradient feeds another recomputed layer
            Files.writeString(cfg, Files.readString(cfg).replace("\"layers\": 1, \"hidden\": 32, \"heads\": 2, \"intermediate\": 64}",
                    "\"layers\": 2, \"hidden\": 32, \"heads\": 2, \"intermediate\": 64, \"dropout\": 0}"));
            assertTrue(Files.readString(cfg).contains("\"dropout\": 0}"));
            try (PretrainRun r = PretrainRun.open(PretrainConfig.read(cfg), TrainingListener.SILENT)) {
                r.run();
            }
        }
        assertEquals(losses(dir.resolve("kept")), losses(dir.resolve("recomputed")));
        for (String f : new String[] {"reader/model.safetensors", "doc/model.safetensors", "heads.safetensors", "query/model.safetensors", "optimizer.bin"}) {
            assertArrayEquals(Files.readAllBytes(dir.resolve("kept/step-0000008/" + f)), Files.readAllBytes(dir.resolve("recomputed/step-0000008/" + f)), f);
        }
    }

    @Test
    void withoutTheNullDocumentTheWarmupReadsOnlyTheOwnBlock() throws IOException {
        // k 3: the copy warm-up reads the own block alone all the same
        Path cfg = config("nonull", ", \"reader_warmup\": 3, \"warmup_own_block\": true, \"warmup_without_null\": true");
        try (PretrainRun run = PretrainRun.open(PretrainConfig.read(cfg), TrainingListener.SILENT)) {
            run.run();
        }
        ObjectMapper json = new ObjectMapper();
        List<String> lines = Files.readAllLines(dir.resolve("nonull").resolve("metrics.jsonl"));
        for (String line : lines) {
            JsonNode n = json.readTree(line);
            boolean warmup = n.get("stage").asText().equals("reader-warmup");
            // in the warm-up p(z|x) is all on the one block read (entropy 0); after it, spread over the top k and the null document
            if (warmup) assertEquals(0.0, n.get("entropy").asDouble(), 1e-9, line);
            else assertTrue(n.get("entropy").asDouble() > 1e-6, line);
        }
        assertEquals(8, lines.size());
        assertTrue(assertThrows(ConfigException.class, () -> PretrainConfig.read(config("nullonly", ", \"warmup_without_null\": true")))
                .getMessage().contains("'warmup_without_null' needs reader_warmup"));
    }

    @Test
    void swappedAnswersAreAnotherQuerysSpanWrittenIntoTheOwnBlock() throws IOException {
        PretrainConfig c = PretrainConfig.read(rewrite(config("swap", ""), "\"batch\": 2", "\"batch\": 16"));
        try (PretrainRun run = PretrainRun.open(c, TrainingListener.SILENT)) {
            RealmPretrainer t = run.trainer();
            var batch = t.batch(0, 0);
            int[][] ownOnly = new int[batch.size()][];
            for (int i = 0; i < ownOnly.length; i++) ownOnly[i] = new int[] {batch.get(i).block(), BlockInputs.NULL_DOCUMENT};
            var swapped = t.swapAnswers(batch, ownOnly, new java.util.SplittableRandom(5));
            int changed = 0;
            for (int i = 0; i < batch.size(); i++) {
                var before = batch.get(i);
                var after = swapped.batch().get(i);
                int[] block = t.blockInputs.ids(before.block());
                assertArrayEquals(before.ids(), after.ids(), "the query the reader sees is unchanged");
                if (swapped.originals()[i] == null) {
                    assertArrayEquals(before.targets(), after.targets());
                    continue;
                }
                changed++;
                int[] read = swapped.asRead(i, block);
                assertEquals(block.length, read.length);
                assertFalse(java.util.Arrays.equals(before.targets(), after.targets()));
                assertEquals(before.masked(), after.masked());
                final int q = i;
                assertTrue(batch.stream().anyMatch(o -> o != batch.get(q) && java.util.Arrays.equals(o.targets(), after.targets())
                        && RealmPretrainer.shape(o).equals(RealmPretrainer.shape(before))), "a span of another query, of the same shape");
                String was = before.maskedText().strip(), now = after.maskedText().strip();
                if (was.chars().allMatch(Character::isDigit)) assertTrue(now.length() == was.length() && now.chars().allMatch(Character::isDigit), was + " -> " + now);
                var at = RealmPretrainer.occurrences(block, before.targets());
                assertFalse(at.isEmpty());
                for (int p : at) assertArrayEquals(after.targets(), java.util.Arrays.copyOfRange(read, p, p + after.masked()));
                for (int x = 0; x < block.length; x++) {
                    final int y = x;
                    if (at.stream().noneMatch(p -> y >= p && y < p + after.masked())) assertEquals(block[x], read[x], "only the span's wordpieces change");
                }
            }
            assertTrue(changed >= 2, "swaps in a batch of 16: " + changed);
        }
    }

    @Test
    void answerBlocksKeepTheRetrievedBlocksThatHoldTheSpanInPoolOrder() throws IOException {
        for (String cap : new String[] {"", ", \"warmup_k\": 1", ", \"warmup_k\": 1, \"warmup_distractors\": 2"}) {
            PretrainConfig c = PretrainConfig.read(rewrite(config("answers" + cap.length(), ", \"reader_warmup\": 1, \"warmup_answer_blocks\": true" + cap),
                    "\"batch\": 2", "\"batch\": 16"));
            int k = cap.isEmpty() ? c.k() : 1, d = c.warmupDistractors();
            try (PretrainRun run = PretrainRun.open(c, TrainingListener.SILENT)) {
                RealmPretrainer t = run.trainer();
                var batch = t.batch(0, 0);
                // a pool of every block but the own one, in id order, then the null document
                int n = t.blockInputs.size();
                int[][] pool = new int[batch.size()][];
                for (int i = 0; i < batch.size(); i++) {
                    int own = batch.get(i).block(), m = 0;
                    pool[i] = new int[n];
                    for (int b = 0; b < n; b++) if (b != own) pool[i][m++] = b;
                    pool[i][m] = BlockInputs.NULL_DOCUMENT;
                }
                int[][] read = t.answerBlocks(pool, batch);
                int found = 0;
                for (int i = 0; i < batch.size(); i++) {
                    assertEquals(k + d + 1, read[i].length);
                    assertEquals(BlockInputs.NULL_DOCUMENT, read[i][k + d]);
                    List<Integer> expected = new ArrayList<>(), others = new ArrayList<>();
                    for (int b = 0; b < n; b++) {
                        if (b == batch.get(i).block()) continue;
                        boolean holds = !RealmPretrainer.occurrences(t.blockInputs.ids(b), batch.get(i).targets()).isEmpty();
                        if (holds && expected.size() < k) expected.add(b);
                        if (!holds && others.size() < d) others.add(b);
                    }
                    for (int j = 0; j < k; j++) assertEquals(j < expected.size() ? expected.get(j) : RealmPretrainer.MISSING, read[i][j]);
                    for (int j = 0; j < d; j++) assertEquals(others.get(j), read[i][k + j], "the first blocks without the span, in pool order");
                    found += expected.size();
                }
                assertTrue(found > 0, "some span occurs in another block");
            }
        }
        assertTrue(assertThrows(ConfigException.class, () -> PretrainConfig.read(config("answers2", ", \"warmup_answer_blocks\": true")))
                .getMessage().contains("'warmup_answer_blocks' needs reader_warmup"));
        assertTrue(assertThrows(ConfigException.class, () -> PretrainConfig.read(config("answers3", ", \"reader_warmup\": 1, \"warmup_k\": 1")))
                .getMessage().contains("'warmup_k' needs warmup_answer_blocks"));
    }

    @Test
    void theBatchedForwardEqualsOneSequenceAtATime() throws IOException {
        PretrainConfig c = PretrainConfig.read(config("pairs", ""));
        try (PretrainRun run = PretrainRun.open(c, TrainingListener.SILENT)) {
            RealmPretrainer t = run.trainer();
            var batch = t.batch(3, 0);
            var model = t.model;
            try (var g = org.realmjava.tensor.Autograd.noGrad()) {
                double loss = t.forward(batch, null, new org.realmjava.trainer.train.PhaseTimes()).loss().item();
                // the same loss from one (query, candidate) pair at a time, no padding anywhere
                var qb = org.realmjava.trainer.retrieval.Batches.pad(List.of(batch.get(0).ids()), List.of(new int[batch.get(0).ids().length]), t.padId);
                double sum = 0;
                int tokens = 0;
                for (var mq : batch) {
                    var one = org.realmjava.trainer.retrieval.Batches.pad(List.of(mq.ids()), List.of(new int[mq.ids().length]), t.padId);
                    float[] q = model.embedQueries(one.ids(), one.types(), one.mask(), null).toFloatArray();
                    int[] cands = t.candidates(org.realmjava.tensor.Tensor.of(q, 1, q.length), List.of(mq))[0];
                    double[] f = new double[cands.length];
                    double[][] ll = new double[cands.length][mq.masked()];
                    for (int j = 0; j < cands.length; j++) {
                        int[] ids = t.blockInputs.ids(cands[j]);
                        var db = org.realmjava.trainer.retrieval.Batches.pad(List.of(ids), List.of(org.realmjava.trainer.retrieval.BlockInputs.typeIds(ids, t.sepId)), t.padId);
                        float[] d = model.embedDocuments(db.ids(), db.types(), db.mask(), null).toFloatArray();
                        for (int x = 0; x < d.length; x++) f[j] += (double) q[x] * d[x] * model.spec.scoreScale();
                        var seq = t.readerInput(mq.ids(), ids, 512);
                        var rb = org.realmjava.trainer.retrieval.Batches.pad(List.of(seq.ids()), List.of(seq.types()), t.padId);
                        var hidden = model.reader.forward(rb.ids(), rb.types(), rb.mask(), null).reshape(seq.ids().length, -1);
                        float[] logits = model.mlm.logits(org.realmjava.tensor.Ops.indexSelect(hidden, 0,
                                org.realmjava.tensor.Tensor.ofInts(mq.positions(), mq.masked()))).toFloatArray();
                        int v = logits.length / mq.masked();
                        for (int k = 0; k < mq.masked(); k++) {
                            double max = Double.NEGATIVE_INFINITY, z = 0;
                            for (int u = 0; u < v; u++) max = Math.max(max, logits[k * v + u]);
                            for (int u = 0; u < v; u++) z += Math.exp(logits[k * v + u] - max);
                            ll[j][k] = logits[k * v + mq.targets()[k]] - max - Math.log(z);
                        }
                    }
                    double fmax = java.util.Arrays.stream(f).max().orElseThrow(), fz = 0;
                    for (double x : f) fz += Math.exp(x - fmax);
                    for (int k = 0; k < mq.masked(); k++) {
                        double m = 0;
                        for (int j = 0; j < cands.length; j++) m += Math.exp(f[j] - fmax) / fz * Math.exp(ll[j][k]);
                        sum += Math.log(m);
                        tokens++;
                    }
                }
                assertTrue(qb.length() > 0);
                // batching and padding change only the rounding: measured 6e-7 apart (loss ~10.27); the null
                // document's column put first instead of last, a mistake this random model barely feels, gave 1.5e-5
                assertEquals(-sum / tokens, loss, 4e-6, "batched forward vs one pair at a time");
            }
        }
    }

    private static Path rewrite(Path f, String from, String to) throws IOException {
        String s = Files.readString(f);
        assertTrue(s.contains(from), from);
        Files.writeString(f, s.replace(from, to));
        return f;
    }
}
