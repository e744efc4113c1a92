package org.realmjava.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `realm pretrain`, `ict` and `pretrain-eval` on bad input: exit 2, one line, no stack trace, nothing written. */
class PretrainCliTest {
    @TempDir
    Path dir;

    private void oneLine(CliRun r, String expected) {
        assertEquals(2, r.code(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertFalse(r.err().contains("Exception") || r.err().contains("\tat "), r.err());
        assertTrue(r.err().contains(expected), "expected '" + expected + "' in: " + r.err());
    }

    private Path config(String body) throws IOException {
        Path c = dir.resolve("c.json");
        Files.writeString(c, body);
        return c;
    }

    @Test
    void badInputIsOneLineAndWritesNothing() throws IOException {
        oneLine(CliRun.of("pretrain", "--config", dir.resolve("missing.json").toString()), "no such config file");
        oneLine(CliRun.of("pretrain", "--config", config("{\"corpus\": {\"format\": \"wordnet\"}, \"checkpoint_dir\": \"run\", \"k\": 8.5}").toString()),
                "'k' must be an integer, got 8.5");
        oneLine(CliRun.of("pretrain", "--config", config("{\"corpus\": {\"format\": \"wordnet\"}, \"checkpoint_dir\": \"run\", \"kk\": 8}").toString()),
                "unknown key 'kk'");
        oneLine(CliRun.of("pretrain", "--config", config("{\"corpus\": {\"format\": \"wordnet\"}}").toString()), "'checkpoint_dir' is needed");
        oneLine(CliRun.of("pretrain", "--config", config("{not json").toString()), "c.json:1: not JSON");
        Files.writeString(dir.resolve("empty.jsonl"), "\n");
        oneLine(CliRun.of("pretrain", "--config", config("{\"corpus\": {\"path\": \"empty.jsonl\"}, \"checkpoint_dir\": \"run\","
                + " \"init\": {\"random\": {\"layers\": 1, \"hidden\": 32, \"heads\": 2, \"intermediate\": 64}}}").toString()), "no documents");
        Files.writeString(dir.resolve("bad.jsonl"), "{\"text\": \"fine\"}\n{\"text\": 3\n");
        oneLine(CliRun.of("pretrain", "--config", config("{\"corpus\": {\"path\": \"bad.jsonl\"}, \"checkpoint_dir\": \"run\","
                + " \"init\": {\"random\": {\"layers\": 1, \"hidden\": 32, \"heads\": 2, \"intermediate\": 64}}}").toString()), "bad.jsonl:2: not a JSON object");
        Files.writeString(dir.resolve("good.jsonl"), "{\"text\": \"A fine sentence about the Hudson River in 1776.\"}\n");
        oneLine(CliRun.of("pretrain", "--config", config("{\"corpus\": {\"path\": \"good.jsonl\"}, \"checkpoint_dir\": \"run\","
                + " \"init\": {\"checkpoint\": \"nowhere\"}}").toString()), "not a REALM checkpoint");
        assertFalse(Files.exists(dir.resolve("run")), "a failed start must leave no checkpoint_dir");
        oneLine(CliRun.of("ict", "--config", config("{\"corpus\": {\"format\": \"wordnet\"}, \"checkpoint_dir\": \"run\", \"k\": 8}").toString()),
                "unknown key 'k'");
        oneLine(CliRun.of("pretrain-eval", "--config", dir.resolve("missing.json").toString()), "no such config file");
    }

    @Test
    void helpWorks() {
        for (String cmd : new String[] {"pretrain", "ict", "pretrain-eval"}) {
            CliRun r = CliRun.of(cmd, "--help");
            assertEquals(0, r.code(), cmd + ": " + r.err());
            assertTrue(r.out().contains("--config"), r.out());
        }
    }
}
