package org.realmjava.trainer.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.realmjava.trainer.config.ConfigException;
import org.realmjava.trainer.corpus.Block;

/**
 * {@code state.json} of a checkpoint, one schema for every kind of run: what kind of training wrote
 * it, at which step, its guard counters, and what the run was started with: the model
 * ({@code model_key}: where its weights came from and the shapes that follow), the data
 * ({@code data_key}: corpus blocks, training questions, as counts and hashes) and the settings
 * that decide its trajectory ({@code settings}: every config value except the ones a resumed run
 * may change: steps, checkpoint_every, keep_checkpoints, threads, batch sizes of inference).
 * A resume with a different kind, model, data or setting is refused with one line naming it.
 * {@code extra} holds what one objective alone needs (pre-training: the index generation).
 */
public record RunState(String kind, long step, long seed, long skippedSteps, long nonFiniteStreak, String modelKey, String dataKey, ObjectNode settings,
                       ObjectNode extra) {
    public static final String FILE = "state.json", FORMAT = "realm-java/run-state/1";
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Config values a resumed run may change: how long it runs and how it checkpoints, not what it computes. */
    private static final Set<String> MAY_CHANGE = Set.of("file", "corpus", "init", "train", "steps", "checkpoint_dir", "checkpoint_every",
            "keep_checkpoints", "threads", "refresh_batch", "index_batch", "training");

    /**
     * A config record's settings as the state stores them: its values by snake_case name (nested
     * training keys flattened), without the ones a resume may change and those the model and data
     * keys already cover (corpus, init, train).
     */
    public static ObjectNode settingsOf(Record config) {
        ObjectMapper m = new ObjectMapper().setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
                .configure(SerializationFeature.FAIL_ON_EMPTY_BEANS, false);
        ObjectNode all = m.valueToTree(config), out = JSON.createObjectNode();
        if (all.get("training") instanceof ObjectNode t) t.fields().forEachRemaining(e -> { if (!MAY_CHANGE.contains(e.getKey())) out.set(e.getKey(), e.getValue()); });
        all.fields().forEachRemaining(e -> { if (!MAY_CHANGE.contains(e.getKey())) out.set(e.getKey(), e.getValue()); });
        return out;
    }

    /** The data key of a corpus: its number of blocks and a hash over their hashes. */
    public static String corpusKey(List<Block> blocks) {
        long h = 0;
        for (Block b : blocks) h = Seeds.mix(h, b.hash());
        return blocks.size() + " blocks, " + Long.toHexString(h);
    }

    /** Writes state.json into a checkpoint being written. */
    public void write(Path checkpoint) throws IOException {
        ObjectNode n = JSON.createObjectNode();
        n.put("format", FORMAT).put("kind", kind).put("step", step).put("seed", seed).put("skipped_steps", skippedSteps)
                .put("non_finite_streak", nonFiniteStreak).put("model_key", modelKey).put("data_key", dataKey);
        n.set("settings", settings);
        n.set("extra", extra);
        Files.writeString(checkpoint.resolve(FILE), n.toPrettyString(), StandardCharsets.UTF_8);
    }

    /** Reads a checkpoint's state.json; a missing, unreadable or foreign file is one line. */
    public static RunState read(Path checkpoint) {
        Path f = checkpoint.resolve(FILE);
        JsonNode n;
        try {
            n = JSON.readTree(f.toFile());
        } catch (IOException e) {
            throw new ConfigException(f + ": cannot read: " + e.getMessage().lines().findFirst().orElse(""));
        }
        if (n == null || !FORMAT.equals(n.path("format").asText())) {
            throw new ConfigException(f + ": not a realm-java run state (format '" + (n == null ? "" : n.path("format").asText())
                    + "'; this version reads " + FORMAT + "): resume it with the version that wrote it, or use another checkpoint_dir");
        }
        return new RunState(n.path("kind").asText(), n.path("step").asLong(), n.path("seed").asLong(), n.path("skipped_steps").asLong(),
                n.path("non_finite_streak").asLong(), n.path("model_key").asText(), n.path("data_key").asText(), object(n.get("settings")),
                object(n.get("extra")));
    }

    /** The node as it reads back from state.json (a long that fits an int reads back as an int node). */
    private static ObjectNode reparsed(ObjectNode n) {
        try {
            return (ObjectNode) JSON.readTree(JSON.writeValueAsString(n));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static ObjectNode object(JsonNode n) {
        return n instanceof ObjectNode o ? o : JSON.createObjectNode();
    }

    /** Refuses to resume this state in a run of another kind or model (known before the data is read). */
    public void requireSameRun(Path dir, String kind, String modelKey) {
        if (!this.kind.equals(kind)) {
            throw new ConfigException("checkpoint_dir " + dir + " holds a " + this.kind + " run, not " + kind + ": use another checkpoint_dir");
        }
        if (!this.modelKey.equals(modelKey)) {
            throw new ConfigException("checkpoint_dir " + dir + " holds a run of another model (" + this.modelKey + "; this config: " + modelKey
                    + "): use another checkpoint_dir");
        }
    }

    /** Refuses to resume this state on other data or with other settings; the line names what differs. */
    public void requireSameInputs(Path dir, String dataKey, ObjectNode settings) {
        if (!this.dataKey.equals(dataKey)) {
            throw new ConfigException("checkpoint_dir " + dir + " was trained on other data (" + this.dataKey + "; now " + dataKey
                    + "): use another checkpoint_dir");
        }
        String diff = firstDifference(this.settings, reparsed(settings));
        if (diff != null) throw new ConfigException("checkpoint_dir " + dir + " was trained with " + diff + ": use another checkpoint_dir, or that value");
    }

    private static String firstDifference(ObjectNode was, ObjectNode now) {
        for (Iterator<Map.Entry<String, JsonNode>> it = now.fields(); it.hasNext(); ) {
            var e = it.next();
            JsonNode old = was.get(e.getKey());
            if (!e.getValue().equals(old)) return "'" + e.getKey() + "' " + (old == null ? "unset" : old) + " (this config: " + e.getValue() + ")";
        }
        for (Iterator<String> it = was.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!now.has(k)) return "'" + k + "' " + was.get(k) + " (this config has no such setting)";
        }
        return null;
    }
}
