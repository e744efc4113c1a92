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
 * Reads open-domain QA data: JSON lines {"question", "answer": [...]} (NQ-open, WebQuestions,
 * DrQA's SQuAD file), the same lines with regular-expression answers (CuratedTREC, format
 * "curatedtrec"), and SQuAD JSON (each question with its answer texts; its article number kept,
 * so experiments can split by article). Errors name the file and line; with skipBadLines a
 * malformed line is reported through warn and left out instead.
 */
public final class QaReader {
    private static final ObjectMapper JSON = new ObjectMapper();

    private QaReader() {}

    public static final List<String> FORMATS = List.of("jsonl", "curatedtrec", "squad");

    public static List<QaExample> read(Path file, String format) {
        return read(file, format, false, w -> {});
    }

    public static List<QaExample> read(Path file, String format, boolean skipBadLines, java.util.function.Consumer<String> warn) {
        if (Files.isDirectory(file)) throw new CorpusException(file + ": is a directory, not a QA file");
        if (!Files.isRegularFile(file)) throw new CorpusException(file + ": no such QA file");
        List<QaExample> out = switch (format) {
            case "jsonl" -> jsonl(file, false, skipBadLines, warn);
            case "curatedtrec" -> jsonl(file, true, skipBadLines, warn);
            case "squad" -> squad(file);
            default -> throw new IllegalArgumentException("unknown QA format '" + format + "' (" + String.join(", ", FORMATS) + ")");
        };
        if (out.isEmpty()) throw new CorpusException(file + ": no questions");
        return out;
    }

    /** A SQuAD article range "from-to" (e.g. "36-47") as {from, to}, or null when s is not one. */
    public static int[] articleRange(String s) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+)-(\\d+)").matcher(s);
        if (!m.matches()) return null;
        int from = Integer.parseInt(m.group(1)), to = Integer.parseInt(m.group(2));
        return from <= to ? new int[] {from, to} : null;
    }

    /** The format a file name suggests: .json is SQuAD, a name with "trec" CuratedTREC's regex lines, anything else JSON lines. */
    public static String guessFormat(Path file) {
        String n = file.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
        return n.endsWith(".json") ? "squad" : n.contains("trec") ? "curatedtrec" : "jsonl";
    }

    private static List<QaExample> jsonl(Path file, boolean regex, boolean skipBadLines, java.util.function.Consumer<String> warn) {
        List<QaExample> out = new ArrayList<>();
        try (TextLines lines = new TextLines(file)) {
            for (String line; (line = lines.next()) != null; ) {
                if (line.isBlank()) continue;
                int no = lines.number();
                try {
                    out.add(jsonLine(file, no, line, regex));
                } catch (CorpusException e) {
                    if (!skipBadLines) throw new CorpusException(e.getMessage() + " (--skip-bad-lines to go on without it)");
                    warn.accept("skipped " + e.getMessage());
                }
            }
        } catch (IOException e) {
            throw new CorpusException(file + ": cannot read: " + e.getMessage());
        }
        return out;
    }

    private static QaExample jsonLine(Path file, int no, String line, boolean regex) {
        JsonNode n;
        try {
            n = JSON.readTree(line);
        } catch (JsonProcessingException e) {
            throw new CorpusException(file + ":" + no + ": not a JSON object (" + CorpusException.brief(e) + ")");
        }
        JsonNode q = n == null ? null : n.get("question"), a = n == null ? null : n.get("answer");
        if (q == null || !q.isTextual() || q.asText().isBlank()) throw new CorpusException(file + ":" + no + ": no \"question\" string");
        if (a == null || !(a.isArray() || a.isTextual())) throw new CorpusException(file + ":" + no + ": no \"answer\" list");
        List<String> answers = new ArrayList<>();
        if (a.isTextual()) answers.add(a.asText());
        else for (JsonNode x : a) answers.add(x.asText());
        if (answers.isEmpty()) throw new CorpusException(file + ":" + no + ": \"answer\" is empty");
        if (regex) {
            for (String x : answers) {
                try {
                    java.util.regex.Pattern.compile(x);
                } catch (java.util.regex.PatternSyntaxException e) {
                    throw new CorpusException(file + ":" + no + ": answer /" + x + "/ is not a regular expression (" + e.getDescription() + ")");
                }
            }
        }
        return new QaExample(String.valueOf(no), q.asText(), answers, regex, -1);
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
