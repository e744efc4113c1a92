package org.realmjava.trainer.pretrain;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.realmjava.trainer.corpus.CorpusException;
import org.realmjava.trainer.corpus.MaskedQuery;
import org.realmjava.transformer.tokenizer.Encoding;
import org.realmjava.transformer.tokenizer.WordPieceTokenizer;

/**
 * A held-out probe of what pre-training learned: a sentence, the span to mask in it (its first
 * occurrence; every wordpiece overlapping it becomes [MASK], as pre-training masks a salient span)
 * and, optionally, the corpus ids of the blocks that state the fact. One line of a probes.jsonl:
 * {@code {"text": "...", "mask": "...", "blocks": ["id", ...]}}. line: where it was read (1-based; 0 when
 * made in code).
 */
public record Probe(String text, String mask, List<String> blocks, int line) {
    public Probe(String text, String mask, List<String> blocks) {
        this(text, mask, blocks, 0);
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Reads a probes.jsonl; a bad line is a {@link CorpusException} naming the file and line. */
    public static List<Probe> read(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new CorpusException(file + ": cannot read: " + e.getMessage());
        }
        List<Probe> out = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty()) continue;
            String where = file + ":" + (i + 1) + ": ";
            JsonNode n;
            try {
                n = JSON.readTree(line);
            } catch (JsonProcessingException e) {
                throw new CorpusException(where + "not JSON (" + CorpusException.brief(e) + ")");
            }
            if (n == null || !n.isObject()) throw new CorpusException(where + "a probe must be a JSON object");
            if (!n.path("text").isTextual() || n.path("text").asText().isBlank()) throw new CorpusException(where + "'text' must be a non-empty string");
            if (!n.path("mask").isTextual() || n.path("mask").asText().isBlank()) throw new CorpusException(where + "'mask' must be a non-empty string");
            String text = n.get("text").asText(), mask = n.get("mask").asText();
            if (!text.contains(mask)) throw new CorpusException(where + "'mask' \"" + mask + "\" does not occur in 'text'");
            List<String> blocks = new ArrayList<>();
            JsonNode b = n.get("blocks");
            if (b != null && !b.isNull()) {
                if (!b.isArray()) throw new CorpusException(where + "'blocks' must be a list of corpus ids");
                for (JsonNode id : b) {
                    if (!id.isTextual()) throw new CorpusException(where + "'blocks' must be a list of corpus ids (strings), got " + id);
                    blocks.add(id.asText());
                }
            }
            out.add(new Probe(text, mask, List.copyOf(blocks), i + 1));
        }
        if (out.isEmpty()) throw new CorpusException(file + ": no probes");
        return out;
    }

    /** The probe's JSON line. */
    public String toJson() {
        ObjectNode n = JSON.createObjectNode().put("text", text).put("mask", mask);
        var a = n.putArray("blocks");
        blocks.forEach(a::add);
        try {
            return JSON.writeValueAsString(n);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The probe as a masked query (block -1: it comes from no corpus block). Fails when the span is
     * cut off by query_len.
     */
    public MaskedQuery toQuery(WordPieceTokenizer tokenizer, int queryLen) {
        Encoding enc = tokenizer.encode(text, null, queryLen, WordPieceTokenizer.Truncation.LONGEST_FIRST);
        int start = text.indexOf(mask), end = start + mask.length();
        int maskId = tokenizer.tokenId("[MASK]");
        List<Integer> positions = new ArrayList<>();
        for (int p = 1; p < enc.length() - 1; p++) if (enc.offsetStarts()[p] < end && enc.offsetEnds()[p] > start) positions.add(p);
        if (positions.isEmpty()) throw new CorpusException("probe \"" + text + "\": the span \"" + mask + "\" lies beyond query_len " + queryLen);
        int[] ids = enc.ids().clone(), pos = new int[positions.size()], targets = new int[positions.size()];
        for (int i = 0; i < pos.length; i++) {
            pos[i] = positions.get(i);
            targets[i] = ids[pos[i]];
            ids[pos[i]] = maskId;
        }
        return new MaskedQuery(-1, -1, ids, pos, targets, mask);
    }
}
