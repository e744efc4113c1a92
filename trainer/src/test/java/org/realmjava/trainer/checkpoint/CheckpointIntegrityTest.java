package org.realmjava.trainer.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.realmjava.tensor.parallel.Parallel;
import org.realmjava.trainer.config.ConfigException;
import org.realmjava.trainer.config.FinetuneConfig;
import org.realmjava.trainer.config.PretrainConfig;
import org.realmjava.trainer.finetune.FinetuneRun;
import org.realmjava.trainer.pretrain.PretrainRun;
import org.realmjava.trainer.qa.QaCheckpoint;
import org.realmjava.trainer.train.TrainingListener;

/**
 * Every kind of file of a pre-training and a fine-tuning checkpoint, damaged by a flipped byte, a
 * truncation or a deletion: the damage is named, the checkpoint is moved aside, the run falls back
 * to the previous good checkpoint and repeats the uninterrupted run's losses; loading a damaged
 * checkpoint for answers fails with one line.
 */
class CheckpointIntegrityTest {
    @TempDir
    Path dir;

    enum Damage { FLIP, TRUNCATE, DELETE }

    private static final String[] FACTS = {
        "The Hudson River flows through New York and reaches the sea in %d.",
        "Marie Curie won a prize in %d for work on radium and polonium.",
        "The city of Lisbon was struck by an earthquake in %d and rebuilt.",
        "Mount Everest was first climbed by Tenzing Norgay in %d with a partner.",
    };

    private void data() throws IOException {
        StringBuilder corpus = new StringBuilder(), qa = new StringBuilder();
        for (int i = 0; i < 16; i++) {
            String text = String.format(FACTS[i % FACTS.length], 1800 + i) + " It is entry " + (i + 2) + " of this corpus.";
            corpus.append(String.format("{\"id\": \"d%d\", \"title\": \"Entry %d\", \"text\": \"%s\"}%n", i, i, text));
            qa.append(String.format("{\"question\": \"When was entry %d?\", \"answer\": [\"%d\"]}%n", i + 2, 1800 + i));
        }
        Files.writeString(dir.resolve("corpus.jsonl"), corpus);
        Files.writeString(dir.resolve("qa.jsonl"), qa);
    }

    private static final String MODEL = "\"init\": {\"random\": {\"layers\": 1, \"hidden\": 32, \"heads\": 2, \"intermediate\": 64}}";

    private Path pretrainConfig(String run, int steps) throws IOException {
        Path f = dir.resolve(run + "-" + steps + ".json");
        Files.writeString(f, "{\"corpus\": {\"path\": \"corpus.jsonl\"}, " + MODEL + ", \"projection_dim\": 16, \"k\": 2, \"query_len\": 32,"
                + " \"block_len\": 40, \"batch\": 2, \"steps\": " + steps + ", \"lr\": 0.002, \"warmup\": 1, \"refresh_every\": 2, \"checkpoint_dir\": \"" + run
                + "\", \"checkpoint_every\": 2, \"keep_checkpoints\": 5, \"seed\": 4, \"threads\": " + Parallel.threads() + "}");
        return f;
    }

    private Path finetuneConfig(String run, int steps) throws IOException {
        Path f = dir.resolve(run + "-" + steps + ".json");
        Files.writeString(f, "{\"corpus\": {\"path\": \"corpus.jsonl\"}, \"train\": {\"path\": \"qa.jsonl\"}, " + MODEL + ", \"k\": 2, \"query_len\": 24,"
                + " \"block_len\": 40, \"batch\": 2, \"steps\": " + steps + ", \"lr\": 0.003, \"warmup\": 1, \"checkpoint_dir\": \"" + run
                + "\", \"checkpoint_every\": 2, \"keep_checkpoints\": 5, \"seed\": 3, \"threads\": " + Parallel.threads() + "}");
        return f;
    }

    private interface Training {
        void run(Path config, TrainingListener listener) throws IOException;
    }

    private static final Training PRETRAIN = (c, l) -> {
        try (PretrainRun r = PretrainRun.open(PretrainConfig.read(c), l)) {
            r.run();
        }
    };
    private static final Training FINETUNE = (c, l) -> FinetuneRun.open(FinetuneConfig.read(c), l).run();

    private static List<String> losses(Path run) throws IOException {
        List<String> out = new ArrayList<>();
        ObjectMapper json = new ObjectMapper();
        for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) {
            var n = json.readTree(line);
            out.add(n.get("step").asText() + ":" + n.get("loss").asText());
        }
        return out;
    }

    private static void damage(Path file, Damage d) throws IOException {
        switch (d) {
            case FLIP -> {
                byte[] b = Files.readAllBytes(file);
                b[b.length / 2] ^= (byte) 0xFF;
                Files.write(file, b);
            }
            case TRUNCATE -> {
                byte[] b = Files.readAllBytes(file);
                Files.write(file, java.util.Arrays.copyOf(b, Math.max(0, b.length - Math.max(1, Math.min(1000, b.length / 2)))));
            }
            case DELETE -> Files.delete(file);
        }
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : s.sorted(Comparator.naturalOrder()).toList()) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(t);
                else Files.copy(p, t, StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    /**
     * For each file and damage: a 4-step run's newest checkpoint (step 4) damaged, the 6-step command
     * run again: it names the file, moves step 4 aside, falls back to step 2 and gives the
     * uninterrupted 6-step run's losses.
     */
    private void eachDamageFallsBack(Training training, java.util.function.BiFunction<String, Integer, Path> config, String[] files) throws IOException {
        data();
        training.run(config.apply("reference", 6), TrainingListener.SILENT);
        List<String> reference = losses(dir.resolve("reference"));
        training.run(config.apply("base", 4), TrainingListener.SILENT);
        for (String file : files) {
            for (Damage d : Damage.values()) {
                String run = "case-" + file.replaceAll("[^a-z]", "") + "-" + d;
                copyTree(dir.resolve("base"), dir.resolve(run));
                damage(dir.resolve(run).resolve("step-0000004").resolve(file), d);
                List<String> said = new ArrayList<>();
                training.run(config.apply(run, 6), new TrainingListener() {
                    @Override
                    public void info(String line) {
                        said.add(line);
                    }
                });
                String what = file + " (" + d + ")";
                String report = said.stream().filter(l -> l.startsWith("step-0000004 is damaged: ")).findFirst().orElse(null);
                assertTrue(report != null && report.contains(file), what + ": the damage is not named: " + said);
                assertTrue(report.endsWith("moved aside as step-0000004.corrupt"), report);
                assertTrue(said.contains("falling back to step-0000002, the newest checkpoint whose files verify"), what + ": " + said);
                assertTrue(said.stream().anyMatch(l -> l.startsWith("resuming from step 2 ")), what + ": " + said);
                assertTrue(Files.isDirectory(dir.resolve(run).resolve("step-0000004.corrupt")), what);
                assertEquals(reference, losses(dir.resolve(run)), what + ": the losses after the fallback");
            }
        }
    }

    @Test
    void pretrainingFallsBackFromEachKindOfDamage() throws IOException {
        eachDamageFallsBack(PRETRAIN, this::pretrainConfigUnchecked, new String[] {"query/model.safetensors", "heads.safetensors", "optimizer.bin",
            "index-live.npy", "state.json", "tokenizer.json", "realm-model.json", "checksums.json"});
    }

    @Test
    void finetuningFallsBackFromEachKindOfDamage() throws IOException {
        eachDamageFallsBack(FINETUNE, this::finetuneConfigUnchecked, new String[] {"reader/model.safetensors", "span-head.safetensors", "optimizer.bin",
            "index/gen-000001/vectors.rix", "blocks.jsonl", "state.json", "tokenizer.json", "qa.json"});
    }

    @Test
    void withEveryCheckpointDamagedTheRunStopsWithOneLineAndAnswersAreRefused() throws IOException {
        data();
        FINETUNE.run(finetuneConfig("all", 4), TrainingListener.SILENT);
        assertEquals(0, org.realmjava.cli.RealmCli.run("checkpoint", "verify", dir.resolve("all").toString()), "realm checkpoint verify on a good run");
        // answering from a damaged checkpoint: refused, naming the file
        damage(dir.resolve("all/step-0000004/span-head.safetensors"), Damage.FLIP);
        assertEquals(1, org.realmjava.cli.RealmCli.run("checkpoint", "verify", dir.resolve("all").toString()), "realm checkpoint verify on a damaged run");
        assertEquals(0, org.realmjava.cli.RealmCli.run("checkpoint", "verify", dir.resolve("all/step-0000002").toString()), "one good step directory");
        assertEquals(2, org.realmjava.cli.RealmCli.run("checkpoint", "verify", dir.resolve("nowhere").toString()), "bad input");
        String m = assertThrows(Checksums.DamagedCheckpointException.class, () -> QaCheckpoint.load(dir.resolve("all"))).getMessage();
        assertEquals(dir.resolve("all/step-0000004") + " is damaged: span-head.safetensors does not match its checksum (its bytes changed)", m);
        damage(dir.resolve("all/step-0000002/optimizer.bin"), Damage.TRUNCATE);
        String stop = assertThrows(ConfigException.class, () -> FINETUNE.run(finetuneConfig("all", 6), TrainingListener.SILENT)).getMessage();
        assertEquals("checkpoint_dir " + dir.resolve("all") + ": every checkpoint is damaged (2 moved aside as *.corrupt); nothing to resume", stop);
    }

    private Path pretrainConfigUnchecked(String run, int steps) {
        try {
            return pretrainConfig(run, steps);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private Path finetuneConfigUnchecked(String run, int steps) {
        try {
            return finetuneConfig(run, steps);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
