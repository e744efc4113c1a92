package org.realmjava.trainer.qa;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.realmjava.mips.FlatIndex;
import org.realmjava.mips.FloatMatrix;
import org.realmjava.mips.IndexWriter;
import org.realmjava.mips.VectorDType;
import org.realmjava.tensor.Autograd;
import org.realmjava.tensor.Tensor;
import org.realmjava.trainer.checkpoint.ModelStore;
import org.realmjava.trainer.corpus.Block;
import org.realmjava.trainer.model.ModelInit;
import org.realmjava.trainer.model.RealmModel;
import org.realmjava.trainer.model.SpanHead;
import org.realmjava.transformer.tokenizer.WordPieceTokenizer;
import org.realmjava.transformer.weights.Safetensors;

/**
 * The Open-QA part of a fine-tuning checkpoint, beside the model files of {@link ModelStore}:
 * {@code qa.json} (format tag and the reader settings), {@code span-head.safetensors},
 * {@code blocks.jsonl} (every block's source id, title and text, in index order) and {@code index/}
 * (the frozen block vectors as a mips index directory). A checkpoint directory with these is all
 * that {@code realm ask}, {@code realm eval} and the Java {@code Realm} API need.
 */
public final class QaCheckpoint {
    public static final String MANIFEST = "qa.json", SPAN_HEAD = "span-head.safetensors", BLOCKS = "blocks.jsonl", INDEX = "index";
    static final String FORMAT = "realm-java/open-qa/1";
    private static final ObjectMapper JSON = new ObjectMapper();

    private QaCheckpoint() {}

    /** Writes the QA files into dir (the model files are written by the caller). vectors: [blocks, dim] of the frozen index. */
    public static void write(Path dir, OpenQa.Settings s, SpanHead head, List<Block> blocks, float[] vectors, int dim) throws IOException {
        ObjectNode m = JSON.createObjectNode().put("format", FORMAT).put("k", s.k()).put("query_len", s.queryLen()).put("block_len", s.blockLen())
                .put("max_span", s.maxSpan()).put("reader_titles", s.readerTitles()).put("blocks", blocks.size());
        Files.writeString(dir.resolve(MANIFEST), m.toPrettyString(), StandardCharsets.UTF_8);
        Map<String, Tensor> p = new LinkedHashMap<>();
        head.collectParameters("", p);
        Safetensors.write(dir.resolve(SPAN_HEAD), p, Map.of("format", "pt"));
        try (BufferedWriter w = Files.newBufferedWriter(dir.resolve(BLOCKS), StandardCharsets.UTF_8)) {
            for (Block b : blocks) {
                w.write(JSON.writeValueAsString(JSON.createObjectNode().put("id", b.sourceId()).put("title", b.title()).put("text", b.text())));
                w.write('\n');
            }
        }
        IndexWriter.build(dir.resolve(INDEX), new FloatMatrix(vectors, blocks.size(), dim), VectorDType.F32);
    }

    public static boolean isQaCheckpoint(Path dir) {
        return Files.isRegularFile(dir.resolve(MANIFEST));
    }

    /**
     * Loads a fine-tuned checkpoint: a step directory, or a run's checkpoint_dir (its newest step).
     * Errors say what the directory is instead (missing, a pre-training checkpoint, files missing).
     */
    public static OpenQa load(Path dir) {
        Path d = ModelInit.CheckpointPaths.modelDirectory(dir);
        if (!isQaCheckpoint(d)) {
            throw new IllegalArgumentException(d + ": a " + (Files.isRegularFile(d.resolve("state.json")) ? "pre-training/ICT" : "model")
                    + " checkpoint without a span reader (no " + MANIFEST + "): fine-tune it first (realm finetune, docs/finetuning.md)");
        }
        for (String f : new String[] {SPAN_HEAD, BLOCKS, INDEX}) {
            if (!Files.exists(d.resolve(f))) throw new IllegalArgumentException(d + ": incomplete Open-QA checkpoint (" + f + " is missing)");
        }
        JsonNode m;
        try {
            m = JSON.readTree(d.resolve(MANIFEST).toFile());
        } catch (IOException e) {
            throw new IllegalArgumentException(d.resolve(MANIFEST) + ": cannot read: " + e.getMessage().lines().findFirst().orElse(""));
        }
        if (!FORMAT.equals(m.path("format").asText())) throw new IllegalArgumentException(d.resolve(MANIFEST) + ": format '" + m.path("format").asText() + "', expected " + FORMAT);
        OpenQa.Settings s = new OpenQa.Settings(m.path("k").asInt(5), m.path("query_len").asInt(64), m.path("block_len").asInt(288), m.path("max_span").asInt(10),
                m.path("reader_titles").asBoolean(true));
        RealmModel model = ModelStore.load(d);
        WordPieceTokenizer tok;
        try {
            tok = WordPieceTokenizer.load(ModelInit.CheckpointPaths.tokenizerIn(d));
        } catch (IOException e) {
            throw new IllegalArgumentException(d + ": cannot read its tokenizer: " + e.getMessage());
        }
        SpanHead head = readSpanHead(d.resolve(SPAN_HEAD), model.reader.config.hiddenSize());
        List<Block> blocks = readBlocks(d.resolve(BLOCKS));
        FlatIndex index = FlatIndex.open(d.resolve(INDEX), false);
        return new OpenQa(model, head, tok, blocks, index, s);
    }

    /** A span head saved by {@link #write}, its parameters trainable. */
    public static SpanHead readSpanHead(Path file, int hidden) {
        Map<String, Tensor> saved = Safetensors.read(file);
        SpanHead head = SpanHead.init(hidden, 0);
        try (var g = Autograd.noGrad()) {
            Map<String, Tensor> p = new LinkedHashMap<>();
            head.collectParameters("", p);
            for (var e : p.entrySet()) {
                Tensor t = saved.get(e.getKey());
                if (t == null || !java.util.Arrays.equals(t.shape(), e.getValue().shape())) {
                    throw new IllegalArgumentException(file + ": " + e.getKey() + (t == null ? " is missing" : " has shape " + java.util.Arrays.toString(t.shape())));
                }
                e.getValue().copyFrom(t);
            }
        }
        return head;
    }

    static List<Block> readBlocks(Path file) {
        List<Block> out = new ArrayList<>();
        try {
            int no = 0;
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                no++;
                if (line.isBlank()) continue;
                JsonNode n = JSON.readTree(line);
                String title = n.path("title").asText(), text = n.path("text").asText();
                if (!n.has("text")) throw new IllegalArgumentException(file + ":" + no + ": no \"text\"");
                out.add(new Block(out.size(), n.path("id").asText(), title, text, new int[0], new int[0], Block.hash(title, text)));
            }
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot read: " + e.getMessage().lines().findFirst().orElse(""));
        }
        return out;
    }
}
