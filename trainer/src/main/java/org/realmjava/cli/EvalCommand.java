package org.realmjava.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.realmjava.Realm;
import org.realmjava.mips.AtomicFiles;
import org.realmjava.trainer.eval.QaEvaluation;
import org.realmjava.trainer.qa.QaExample;
import org.realmjava.trainer.qa.QaReader;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code realm eval --checkpoint D --data qa.jsonl}: exact match and retrieval recall@k, dense beside BM25, per-question predictions. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = {"Evaluates a fine-tuned checkpoint on Open-QA questions: exact match (SQuAD normalisation; regex match for CuratedTREC)",
                "with the reader on the chosen retriever's top k, and recall@k of the dense retriever and of BM25 (Lucene) over the same blocks.",
                "Writes one JSON line per question; the last line printed holds EM and recall@k."})
final class EvalCommand implements Callable<Integer> {
    @Option(names = "--checkpoint", required = true, description = "a fine-tuned checkpoint (a step directory, or a run's checkpoint_dir)")
    Path checkpoint;

    @Option(names = "--data", required = true, description = "questions: JSON lines {\"question\", \"answer\": [...]}, CuratedTREC regex lines, or SQuAD JSON")
    Path data;

    @Option(names = "--format", description = "jsonl, curatedtrec or squad (default: from the file name: .json is SQuAD, a name with 'trec' is CuratedTREC)")
    String format;

    @Option(names = "--k", description = "blocks read per question (default: the checkpoint's, 5)")
    Integer k;

    @Option(names = "--retriever", defaultValue = "dense", description = "whose top k the reader reads: dense or bm25 (default: ${DEFAULT-VALUE})")
    String retriever;

    @Option(names = "--articles", description = "SQuAD only: the article range to evaluate, e.g. 36-47")
    String articles;

    @Option(names = "--limit", defaultValue = "0", description = "evaluate N questions spread evenly over the selection (0: all)")
    int limit;

    @Option(names = "--out", defaultValue = "predictions.jsonl", description = "per-question predictions, JSON lines (default: ${DEFAULT-VALUE})")
    Path out;

    @Option(names = "--skip-bad-lines", description = "leave out malformed lines of --data (each reported) instead of stopping")
    boolean skipBadLines;

    @Option(names = "--threads", description = "worker threads (default: all cores)")
    Integer threads;

    @Override
    public Integer call() throws Exception {
        QaEvaluation.Retriever r = switch (retriever) {
            case "dense" -> QaEvaluation.Retriever.DENSE;
            case "bm25" -> QaEvaluation.Retriever.BM25;
            default -> throw new IllegalArgumentException("--retriever must be dense or bm25, got '" + retriever + "'");
        };
        if (k != null && k < 1) throw new IllegalArgumentException("--k must be at least 1, got " + k);
        String fmt = format != null ? format : QaReader.guessFormat(data);
        if (!QaReader.FORMATS.contains(fmt)) throw new IllegalArgumentException("--format must be one of " + String.join(", ", QaReader.FORMATS) + ", got '" + fmt + "'");
        if (java.nio.file.Files.isDirectory(out)) throw new IllegalArgumentException("--out " + out + " is a directory, not a file");
        List<QaExample> questions = select(QaReader.read(data, fmt, skipBadLines, w -> System.err.println("realm eval: " + w)));
        if (threads != null) System.setProperty("realm.threads", Integer.toString(threads));
        try (Realm realm = Realm.open(checkpoint)) {
            int kk = k == null ? realm.defaultK() : k;
            if (kk > realm.blocks()) {
                System.err.println("realm eval: --k " + kk + " exceeds the corpus's " + realm.blocks() + " blocks; clamped to " + realm.blocks());
                kk = realm.blocks();
            }
            long t0 = System.nanoTime();
            QaEvaluation.Result res;
            try (Progress bar = new Progress("eval", questions.size(), "questions")) {
                res = QaEvaluation.run(realm.openQa(), questions, kk, r, bar::stepTo);
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            writePredictions(res);
            System.out.printf(Locale.ROOT, "questions: %d (%s), %.1f questions/s%n", questions.size(), data.getFileName(), questions.size() / seconds);
            System.out.printf(Locale.ROOT, "reader on the %s top %d; exact match %.2f%n", retriever, res.k(), 100 * res.exactMatch());
            System.out.printf("%-10s %10s %10s%n", "recall@k", "dense", "bm25");
            for (int i = 0; i < res.ks().length; i++) {
                System.out.printf(Locale.ROOT, "%-10s %10.2f %10.2f%n", "@" + res.ks()[i], 100 * res.denseRecall()[i], 100 * res.bm25Recall()[i]);
            }
            System.out.println("predictions: " + out);
            System.out.printf(Locale.ROOT, "EM %.2f recall@%d %.2f%n", 100 * res.exactMatch(), res.k(), 100 * res.recall(r, res.k()));
        }
        return 0;
    }

    private List<QaExample> select(List<QaExample> all) {
        int from = -1, to = -1;
        if (articles != null) {
            int[] range = QaReader.articleRange(articles);
            if (range == null) throw new IllegalArgumentException("--articles must look like 36-47, got '" + articles + "'");
            from = range[0];
            to = range[1];
        }
        List<QaExample> picked = new ArrayList<>();
        for (QaExample q : all) if (from < 0 || (q.article() >= from && q.article() <= to)) picked.add(q);
        if (picked.isEmpty()) throw new IllegalArgumentException(data + ": no questions" + (articles != null ? " in articles " + articles : ""));
        if (limit <= 0 || limit >= picked.size()) return picked;
        // every article of the selection represented: question floor(i * n / limit) for i < limit
        List<QaExample> out = new ArrayList<>(limit);
        for (int i = 0; i < limit; i++) out.add(picked.get((int) ((long) i * picked.size() / limit)));
        return out;
    }

    private void writePredictions(QaEvaluation.Result res) throws Exception {
        ObjectMapper m = new ObjectMapper();
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        for (QaEvaluation.Outcome o : res.outcomes()) {
            ObjectNode n = m.createObjectNode().put("id", o.example().id()).put("question", o.example().question());
            var a = n.putArray("answers");
            o.example().answers().forEach(a::add);
            n.put("prediction", o.prediction().answer()).put("probability", o.prediction().probability()).put("exact_match", o.exact());
            n.put("dense_answer_rank", o.denseRank()).put("bm25_answer_rank", o.bm25Rank());
            var read = n.putArray("read");
            for (var e : o.prediction().evidence()) read.addObject().put("block", e.block()).put("title", e.title()).put("p", e.retrievalProbability()).put("span", e.span());
            buf.write(m.writeValueAsString(n).getBytes(StandardCharsets.UTF_8));
            buf.write('\n');
        }
        AtomicFiles.write(out.toAbsolutePath(), ByteBuffer.wrap(buf.toByteArray()));
    }
}
