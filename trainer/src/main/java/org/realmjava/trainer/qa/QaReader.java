package org.realmjava.trainer.qa;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.realmjava.trainer.corpus.CorpusException;
import org.realmjava.trainer.corpus.TextLines;

/**
 * Reads open-domain QA data: JSON lines {"question", "answer": [...]} (NQ-open), and SQuAD JSON
 * (each question with its answer texts; its article number kept, so experiments can split by
 * article). Errors name the file and line.
 */
public final class QaReader {
    private static final ObjectMapper JSON = new ObjectMapper();

    private QaReader() {}

    public static List<QaExample> read(Path file, String format) {
        if (Files.isDirectory(file)) throw new CorpusException(file + ": is a directory, not a QA file");
        if (!Files.isRegularFile(file)) throw new CorpusException(file + ": no such QA file");
        List<QaExample> out = switch (format) {
            case "jsonl" -> jsonl(file);
            case "squad" -> squad(file);
            default -> throw new IllegalArgumentException("unknown QA format '" + format + "' (jsonl or squad)");
        };
        if (out.isEmpty()) throw new CorpusException(file + ": no questions");
        return out;
    }

    /** The format a file name suggests: .json is SQuAD, anything else JSON lines. */
    public static String guessFormat(Path file) {
        return file.getFileName().toString().toLowerCase().endsWith(".json") ? "squad" : "jsonl";
    }

    private static List<QaExample> jsonl(Path file) {
        List<QaExample> out = new ArrayList<>();
        try (TextLines lines = new TextLines(file)) {
            for (String line; (line = lines.next()) != null; ) {
                if (line.isBlank()) continue;
                int no = lines.number();
                JsonNode n;
                try {
                    n = JSON.readTree(line);
                } catch (JsonProcessingException e) {
                    throw new CorpusException(file + ":" + no + ": not a JSON object (" + org.realmjava.trainer.corpus.CorpusException.brief(e) + ")");
                }
                JsonNode q = n == null ? null : n.get("question"), a = n == null ? null : n.get("answer");
                if (q == null || !q.isTextual() || q.asText().isBlank()) throw new CorpusException(file + ":" + no + ": no \"question\" string");
                if (a == null || !(a.isArray() || a.isTextual())) throw new CorpusException(file + ":" + no + ": no \"answer\" list");
                List<String> answers = new ArrayList<>();
                if (a.isTextual()) answers.add(a.asText());
                else for (JsonNode x : a) answers.add(x.asText());
                out.add(new QaExample(String.valueOf(no), q.asText(), answers, false, -1));
            }
        } catch (IOException e) {
            throw new CorpusException(file + ": cannot read: " + e.getMessage());
        }
        return out;
    }

    private static List<QaExample> squad(Path file) {
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (JsonProcessingException e) {
            throw new CorpusException(file + ":" + e.getLocation().getLineNr() + ": not SQuAD JSON (" + org.realmjava.trainer.corpus.CorpusException.brief(e) + ")");
        } catch (IOException e) {
            throw new CorpusException(file + ": cannot read: " + e.getMessage());
        }
        JsonNode data = root == null ? null : root.get("data");
        if (data == null || !data.isArray()) throw new CorpusException(file + ": not SQuAD JSON (no \"data\" array)");
        List<QaExample> out = new ArrayList<>();
        for (int a = 0; a < data.size(); a++) {
            for (JsonNode p : data.get(a).path("paragraphs")) {
                for (JsonNode qa : p.path("qas")) {
                    List<String> answers = new ArrayList<>();
                    for (JsonNode ans : qa.path("answers")) answers.add(ans.path("text").asText());
                    out.add(new QaExample(qa.path("id").asText(), qa.path("question").asText(), answers, false, a));
                }
            }
        }
        return out;
    }
}
