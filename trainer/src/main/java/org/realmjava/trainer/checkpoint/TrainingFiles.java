package org.realmjava.trainer.checkpoint;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.realmjava.tensor.optim.Optimizer;
import org.realmjava.trainer.model.RealmModel;

/**
 * What every training checkpoint holds besides its own state: the model ({@link ModelStore}), the
 * tokenizer file it reads text with, and the optimizer's state (moments and step, bit-exact).
 */
public final class TrainingFiles {
    public static final String OPTIMIZER = "optimizer.bin";

    private TrainingFiles() {}

    /** The tokenizer's bytes and the name it is stored under (tokenizer.json, or vocab.txt). */
    public record Tokenizer(byte[] bytes, String name) {
        public static Tokenizer of(Path file) throws IOException {
            return new Tokenizer(Files.readAllBytes(file), file.getFileName().toString().endsWith(".txt") ? "vocab.txt" : "tokenizer.json");
        }
    }

    public static void write(Path dir, RealmModel model, Tokenizer tokenizer, Optimizer optimizer) throws IOException {
        ModelStore.save(model, dir);
        Files.write(dir.resolve(tokenizer.name()), tokenizer.bytes());
        try (var out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(dir.resolve(OPTIMIZER))))) {
            optimizer.saveState(out);
        }
    }

    public static void readOptimizer(Path dir, Optimizer optimizer) throws IOException {
        try (var in = new DataInputStream(new BufferedInputStream(Files.newInputStream(dir.resolve(OPTIMIZER))))) {
            optimizer.loadState(in);
        }
    }
}
