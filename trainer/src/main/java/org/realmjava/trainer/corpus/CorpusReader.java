package org.realmjava.trainer.corpus;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a corpus file into documents. Every problem is a {@link CorpusException} naming the file
 * and line: a malformed JSON line, a line without text, bytes that are not UTF-8, a missing or
 * empty file, a directory given as a file.
 */
public final class CorpusReader {
    private static final ObjectMapper JSON = new ObjectMapper();

    private CorpusReader() {}

    /** At most limit documents (limit <= 0: all) of file in the given format (file is ignored for WordNet). */
    public static List<Document> read(Path file, CorpusFormat format, int limit) {
        int max = limit <= 0 ? Integer.MAX_VALUE : limit;
        List<Document> docs = switch (format) {
            case WORDNET -> wordnet(max);
            case JSONL -> lines(file, max, (line, no) -> jsonLine(file, line, no));
            case DPR_TSV -> lines(file, max, (line, no) -> tsvLine(file, line, no));
            case SQUAD -> squad(file, max);
        };
        if (docs.isEmpty()) throw new CorpusException("corpus " + (file == null ? format.configName : file) + ": no documents");
        return docs;
    }

    private interface LineParser {
        /** The document of one line, or null for a line that holds none (blank, header). */
        Document parse(String line, int lineNo);
    }

    private static void checkFile(Path file) {
        if (file == null) throw new CorpusException("corpus: no path given");
        if (Files.isDirectory(file)) throw new CorpusException("corpus " + file + ": is a directory, not a file");
        if (!Files.isRegularFile(file)) throw new CorpusException("corpus " + file + ": no such file");
    }

    private static List<Document> lines(Path file, int max, LineParser parser) {
        checkFile(file);
        List<Document> out = new ArrayList<>();
        try (TextLines r = new TextLines(file)) {
            for (String line; out.size() < max && (line = r.next()) != null; ) {
                if (line.isBlank()) continue;
                Document d = parser.parse(line, r.number());
                if (d != null) out.add(d);
            }
        } catch (IOException e) {
            throw new CorpusException("corpus " + file + ": cannot read: " + e.getMessage());
        }
        return out;
    }

    private static Document jsonLine(Path file, String line, int no) {
        JsonNode n;
        try {
            n = JSON.readTree(line);
        } catch (JsonProcessingException e) {
            throw new CorpusException(file + ":" + no + ": not a JSON object (" + CorpusException.brief(e) + ")");
        }
        if (n == null || !n.isObject()) throw new CorpusException(file + ":" + no + ": not a JSON object");
        JsonNode text = n.get("text");
        if (text == null || !text.isTextual()) throw new CorpusException(file + ":" + no + ": no \"text\" string");
        JsonNode id = n.get("id"), title = n.get("title");
        if (title != null && !title.isTextual() && !title.isNull()) throw new CorpusException(file + ":" + no + ": \"title\" is not a string");
        return new Document(id == null || id.isNull() ? String.valueOf(no) : id.asText(), title == null || title.isNull() ? "" : title.asText(),
                text.asText());
    }

    private static Document tsvLine(Path file, String line, int no) {
        String[] f = line.split("\t", -1);
        if (no == 1 && f.length >= 2 && f[0].equals("id") && f[1].equals("text")) return null; // DPR's header
        if (f.length < 2 || f.length > 3) {
            throw new CorpusException(file + ":" + no + ": expected id<TAB>text<TAB>title, found " + f.length + " fields");
        }
        return new Document(f[0], f.length == 3 ? unquote(f[2]) : "", unquote(f[1]));
    }

    /** DPR writes fields with quotes as CSV does: "..." around, "" inside. */
    private static String unquote(String s) {
        if (s.length() >= 2 && s.startsWith("\"") && s.endsWith("\"")) return s.substring(1, s.length() - 1).replace("\"\"", "\"");
        return s;
    }

    private static List<Document> squad(Path file, int max) {
        checkFile(file);
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (JsonProcessingException e) {
            throw new CorpusException(file + ":" + e.getLocation().getLineNr() + ": not SQuAD JSON (" + CorpusException.brief(e) + ")");
        } catch (IOException e) {
            throw new CorpusException("corpus " + file + ": cannot read: " + e.getMessage());
        }
        JsonNode data = root == null ? null : root.get("data");
        if (data == null || !data.isArray()) throw new CorpusException(file + ": not SQuAD JSON (no \"data\" array)");
        List<Document> out = new ArrayList<>();
        for (int a = 0; a < data.size() && out.size() < max; a++) {
            JsonNode article = data.get(a);
            String title = article.path("title").asText("").replace('_', ' ');
            JsonNode paragraphs = article.path("paragraphs");
            for (int p = 0; p < paragraphs.size() && out.size() < max; p++) {
                JsonNode context = paragraphs.get(p).get("context");
                if (context == null || !context.isTextual()) throw new CorpusException(file + ": article " + a + " paragraph " + p + " has no context");
                out.add(new Document(a + "/" + p, title, context.asText()));
            }
        }
        return out;
    }

    private static List<Document> wordnet(int max) {
        List<Document> out = new ArrayList<>();
        for (WordNetGlosses.Gloss g : WordNetGlosses.read(WordNetGlosses.Pos.NOUN)) {
            if (out.size() >= max) break;
            if (g.text().isBlank()) continue;
            out.add(new Document("n" + g.offset(), g.title(), g.text()));
        }
        return out;
    }
}
