package org.realmjava.trainer.finetune;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.realmjava.trainer.config.FinetuneConfig;
import org.realmjava.trainer.train.TrainingListener;

/** Six facts, their questions, and a fine-tuning config of a tiny random BERT on them: a QA checkpoint in seconds, for tests. */
public final class TinyQa {
    private TinyQa() {}

    /** title, block text, question, answer. */
    public static final String[][] FACTS = {
        {"Lisbon", "Lisbon is the capital of Portugal and lies on the Tagus river.", "What is the capital of Portugal?", "Lisbon"},
        {"Vienna", "Vienna is the capital of Austria, on the Danube.", "Which city is the capital of Austria?", "Vienna"},
        {"Curie", "Marie Curie won the Nobel prize in 1911 for chemistry.", "When did Marie Curie win the chemistry prize?", "1911"},
        {"Everest", "Mount Everest was first climbed in 1953 by Tenzing Norgay and Edmund Hillary.", "Who first climbed Everest with Hillary?", "Tenzing Norgay"},
        {"Danube", "The Danube flows into the Black Sea after passing Budapest.", "Into which sea does the Danube flow?", "the Black Sea"},
        {"Seine", "The Seine flows through Paris and reaches the English Channel at Le Havre.", "Where does the Seine reach the sea?", "Le Havre"},
    };

    /**
     * Writes dir/corpus.jsonl (the facts' blocks), dir/qa.jsonl (their questions and one no block
     * answers) and dir/NAME.json: k 3, batch 3, 8 steps at lr 3e-3 into checkpoint_dir NAME, then extra keys.
     */
    public static Path config(Path dir, String name, String extra) throws IOException {
        StringBuilder corpus = new StringBuilder(), qa = new StringBuilder();
        for (int i = 0; i < FACTS.length; i++) {
            corpus.append(String.format("{\"id\": \"d%d\", \"title\": \"%s\", \"text\": \"%s\"}%n", i, FACTS[i][0], FACTS[i][1]));
            qa.append(String.format("{\"question\": \"%s\", \"answer\": [\"%s\"]}%n", FACTS[i][2], FACTS[i][3]));
        }
        qa.append("{\"question\": \"What is the airspeed of a swallow?\", \"answer\": [\"unladen\"]}\n"); // in no block: adds no loss
        Files.writeString(dir.resolve("corpus.jsonl"), corpus);
        Files.writeString(dir.resolve("qa.jsonl"), qa);
        Path f = dir.resolve(name + ".json");
        Files.writeString(f, "{\"corpus\": {\"path\": \"corpus.jsonl\"}, \"train\": {\"path\": \"qa.jsonl\"},"
                + " \"init\": {\"random\": {\"layers\": 1, \"hidden\": 32, \"heads\": 2, \"intermediate\": 64}}, \"k\": 3, \"query_len\": 24, \"block_len\": 40,"
                + " \"batch\": 3, \"steps\": 8, \"lr\": 0.003, \"warmup\": 1, \"checkpoint_dir\": \"" + name + "\", \"checkpoint_every\": 4, \"keep_checkpoints\": 3,"
                + " \"seed\": 3, \"threads\": " + org.realmjava.tensor.parallel.Parallel.threads() + extra + "}");
        return f;
    }

    /** A fine-tuned checkpoint after `steps` steps: dir/NAME (its checkpoint_dir). */
    public static Path checkpoint(Path dir, String name, int steps) throws IOException {
        FinetuneRun.open(FinetuneConfig.read(config(dir, name, ", \"steps\": " + steps + ", \"checkpoint_every\": " + steps)), TrainingListener.SILENT).run();
        return dir.resolve(name);
    }
}
