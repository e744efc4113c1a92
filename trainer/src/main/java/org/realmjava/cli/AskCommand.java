package org.realmjava.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.realmjava.Realm;
import org.realmjava.trainer.qa.OpenQa;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code realm ask --checkpoint D "question"}: the answer, its probability, and the evidence blocks with the span marked. */
@Command(name = "ask", mixinStandardHelpOptions = true,
        description = {"Answers a question with a fine-tuned checkpoint: the answer, its probability over the blocks read, and the evidence",
                "(top blocks with title, p(z|x) and the answer span marked [[like this]] in its context)."})
final class AskCommand implements Callable<Integer> {
    @Option(names = "--checkpoint", required = true, description = "a fine-tuned checkpoint (a step directory, or a run's checkpoint_dir: its newest)")
    Path checkpoint;

    @Option(names = "--k", description = "blocks to read (default: the checkpoint's, 5)")
    Integer k;

    @Option(names = "--json", description = "print one JSON object instead of text")
    boolean json;

    @Option(names = "--threads", description = "worker threads (default: all cores)")
    Integer threads;

    @Parameters(arity = "1..*", paramLabel = "QUESTION", description = "the question (several words are joined with spaces)")
    String[] words;

    @Override
    public Integer call() throws Exception {
        String question = String.join(" ", words).strip();
        if (question.isEmpty()) throw new IllegalArgumentException("the question is empty");
        if (k != null && k < 1) throw new IllegalArgumentException("--k must be at least 1, got " + k);
        if (threads != null) System.setProperty("realm.threads", Integer.toString(threads));
        try (Realm realm = Realm.open(checkpoint)) {
            int kk = k == null ? realm.defaultK() : k;
            if (kk > realm.blocks()) {
                System.err.println("realm ask: --k " + kk + " exceeds the corpus's " + realm.blocks() + " blocks; clamped to " + realm.blocks());
                kk = realm.blocks();
            }
            OpenQa.Prediction p = realm.ask(question, kk);
            System.out.print(json ? toJson(p) + "\n" : toText(p));
        }
        return 0;
    }

    static String toJson(OpenQa.Prediction p) throws Exception {
        ObjectMapper m = new ObjectMapper();
        ObjectNode n = m.createObjectNode().put("question", p.question()).put("answer", p.answer()).put("probability", p.probability());
        ArrayNode ev = n.putArray("evidence");
        for (OpenQa.Evidence e : p.evidence()) {
            ev.addObject().put("block", e.block()).put("title", e.title()).put("text", e.text()).put("retrieval_probability", e.retrievalProbability())
                    .put("span", e.span()).put("span_in_title", e.spanInTitle()).put("span_start", e.spanStart()).put("span_end", e.spanEnd())
                    .put("span_probability", e.spanProbability());
        }
        return m.writeValueAsString(n);
    }

    static String toText(OpenQa.Prediction p) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "answer: %s   (probability %.3f)%n", p.answer().isEmpty() ? "(none)" : p.answer(), p.probability()));
        sb.append("evidence:\n");
        int i = 1;
        for (OpenQa.Evidence e : p.evidence()) {
            sb.append(String.format(Locale.ROOT, "%2d. p(z|x) %.3f  %s%n      %s%n", i++, e.retrievalProbability(), e.spanInTitle() ? mark(e.title(), e) : e.title(),
                    e.spanInTitle() ? clip(e.text(), 0, Math.min(e.text().length(), 160)) : context(e)));
        }
        return sb.toString();
    }

    private static String mark(String s, OpenQa.Evidence e) {
        return s.substring(0, e.spanStart()) + "[[" + s.substring(e.spanStart(), e.spanEnd()) + "]]" + s.substring(e.spanEnd());
    }

    /** The span marked in about 160 characters of its body around it. */
    private static String context(OpenQa.Evidence e) {
        String t = e.text();
        if (e.spanEnd() <= e.spanStart()) return clip(t, 0, Math.min(t.length(), 160));
        int from = Math.max(0, e.spanStart() - 80), to = Math.min(t.length(), e.spanEnd() + 80);
        return (from > 0 ? "..." : "") + t.substring(from, e.spanStart()) + "[[" + t.substring(e.spanStart(), e.spanEnd()) + "]]" + t.substring(e.spanEnd(), to)
                + (to < t.length() ? "..." : "");
    }

    private static String clip(String t, int from, int to) {
        return t.substring(from, to) + (to < t.length() ? "..." : "");
    }
}
