package org.realmjava.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.realmjava.Realm;
import org.realmjava.mips.AtomicFiles;
import org.realmjava.trainer.config.FinetuneConfig;
import org.realmjava.trainer.config.PretrainConfig;
import org.realmjava.trainer.demo.DemoData;
import org.realmjava.trainer.eval.QaEvaluation;
import org.realmjava.trainer.finetune.FinetuneRun;
import org.realmjava.trainer.pretrain.PretrainRun;
import org.realmjava.trainer.qa.OpenQa;
import org.realmjava.trainer.qa.QaExample;
import org.realmjava.trainer.qa.QaReader;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code realm demo}: REALM end to end on data that needs no network. WordNet 3.1 noun definitions
 * as the corpus, all-MiniLM-L6-v2 as the encoder; a short REALM pre-training, a short reader
 * fine-tuning on question/answer pairs derived from the synsets' example sentences
 * ({@link DemoData}), exact match and recall@5 (dense beside BM25) on held-out synsets, then a few
 * questions answered with their evidence. Each stage writes under --out and is resumable; a
 * finished demo is cached, so a second run prints its results and answers in seconds.
 */
@Command(name = "demo", description = {"REALM end to end, offline: WordNet 3.1 definitions + all-MiniLM-L6-v2; index, short pre-training, short",
        "reader fine-tuning, exact match and recall@5 (dense and BM25) on held-out synsets, then questions answered with evidence.",
        "The first run takes a few minutes on 2 cores; the result is cached (--fresh rebuilds)."})
final class DemoCommand implements Callable<Integer> {
    static final String MARKER = "realm-demo.json", SUMMARY = "summary.txt";
    static final int CORPUS = 10_000, EVAL_QUESTIONS = 300;
    static final String[] SHOWCASE = {"What is the most populous country in the world?", "What is the capital of France?",
        "Which planet is nearest to the sun?", "What do you call a young dog?"};
    static final String[] SHOWCASE_SYNSETS = {"China", "Paris", "Mercury", "puppy"};

    @Option(names = "--out", description = "where the data, index and checkpoints go (default: ${XDG_CACHE_HOME:-~/.cache}/realm-java/demo)")
    Path out;

    @Option(names = "--fresh", description = "delete an earlier demo's output under --out and build everything again")
    boolean fresh;

    @Override
    public Integer call() throws Exception {
        Path dir = out != null ? out : defaultOut();
        if (Files.exists(dir) && !Files.isDirectory(dir)) throw new IllegalArgumentException("--out " + dir + ": is a file, not a directory");
        if (fresh && Files.exists(dir)) {
            if (!Files.isRegularFile(dir.resolve(MARKER))) {
                throw new IllegalArgumentException("--fresh: " + dir + " does not hold a demo (" + MARKER + " missing); not deleting it");
            }
            org.realmjava.trainer.checkpoint.CheckpointDirectory.deleteTree(dir);
        }
        Path summary = dir.resolve(SUMMARY);
        if (Files.isRegularFile(summary)) {
            System.out.print(Files.readString(summary));
            showcase(dir);
            next(dir, true);
            return 0;
        }
        Files.createDirectories(dir);
        long t0 = System.nanoTime();
        // 1. data
        System.err.println("[1/5] deriving the corpus and question/answer pairs from WordNet 3.1 nouns");
        DemoData.Data data = DemoData.build(CORPUS, 0.1, 20261201L, SHOWCASE_SYNSETS);
        writeData(dir, data);
        System.err.printf(Locale.ROOT, "      %d blocks (definitions), %d training pairs, %d held-out pairs; e.g. %s -> %s%n", data.corpus().size(),
                data.train().size(), data.heldout().size(), data.train().get(0).question(), String.join(" / ", data.train().get(0).answers()));
        // 2. REALM pre-training (index built before step 0, refreshed in the background)
        System.err.println("[2/5] REALM pre-training (salient-span masking, k = 4, the retriever at 0.1x the learning rate)");
        PretrainCommand.CliListener listener = new PretrainCommand.CliListener();
        try (PretrainRun run = PretrainRun.open(PretrainConfig.read(dir.resolve("pretrain.json")), listener)) {
            run.run();
        } finally {
            listener.close();
        }
        // 3. Open-QA fine-tuning
        System.err.println("[3/5] reader fine-tuning on the training pairs (k = 5, frozen document tower and index)");
        listener = new PretrainCommand.CliListener();
        try {
            FinetuneRun.open(FinetuneConfig.read(dir.resolve("finetune.json")), listener).run();
        } finally {
            listener.close();
        }
        // 4. evaluation on held-out synsets
        System.err.println("[4/5] evaluation on held-out synsets");
        List<QaExample> heldout = QaReader.read(dir.resolve("heldout.jsonl"), "jsonl");
        List<QaExample> sample = new java.util.ArrayList<>();
        int n = Math.min(EVAL_QUESTIONS, heldout.size());
        for (int i = 0; i < n; i++) sample.add(heldout.get((int) ((long) i * heldout.size() / n)));
        StringBuilder report = new StringBuilder();
        try (Realm realm = Realm.open(dir.resolve("finetune"))) {
            QaEvaluation.Result res;
            try (Progress bar = new Progress("eval", sample.size(), "questions")) {
                res = QaEvaluation.run(realm.openQa(), sample, 5, QaEvaluation.Retriever.DENSE, bar::stepTo);
            }
            report.append(String.format(Locale.ROOT, "REALM demo: %d WordNet noun definitions, %d training pairs; %d held-out questions such as%n  %s -> %s%n",
                    data.corpus().size(), data.train().size(), sample.size(), sample.get(0).question(), String.join(" / ", sample.get(0).answers())));
            report.append(String.format(Locale.ROOT, "exact match (reader on the dense top 5): %.1f%n", 100 * res.exactMatch()));
            report.append(String.format(Locale.ROOT, "recall@5: dense %.1f, BM25 %.1f   (recall@1: dense %.1f, BM25 %.1f)%n", 100 * res.recall(QaEvaluation.Retriever.DENSE, 5),
                    100 * res.recall(QaEvaluation.Retriever.BM25, 5), 100 * res.recall(QaEvaluation.Retriever.DENSE, 1), 100 * res.recall(QaEvaluation.Retriever.BM25, 1)));
        }
        report.append(String.format(Locale.ROOT, "built in %.1f min%n", (System.nanoTime() - t0) / 60e9));
        System.out.print(report);
        // 5. questions as people write them
        System.err.println("[5/5] a few questions");
        showcase(dir);
        AtomicFiles.write(summary, ByteBuffer.wrap(report.toString().getBytes(StandardCharsets.UTF_8)));
        next(dir, false);
        return 0;
    }

    private static void showcase(Path dir) {
        try (Realm realm = Realm.open(dir.resolve("finetune"))) {
            for (String q : SHOWCASE) {
                OpenQa.Prediction p = realm.ask(q, 3);
                System.out.println();
                System.out.println("Q: " + q);
                System.out.print(AskCommand.toText(p));
            }
        }
    }

    private static void next(Path dir, boolean cached) {
        System.out.println();
        System.out.println((cached ? "cached demo (--fresh rebuilds): " : "demo output: ") + dir);
        System.out.println("try next: bin/realm ask --checkpoint " + dir.resolve("finetune") + " \"What is the capital of Italy?\"");
    }

    static Path defaultOut() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("realm-java").resolve("demo");
    }

    private static void writeData(Path dir, DemoData.Data d) throws IOException {
        ObjectMapper json = new ObjectMapper();
        StringBuilder corpus = new StringBuilder(), train = new StringBuilder(), held = new StringBuilder();
        for (DemoData.Synset s : d.corpus()) {
            corpus.append(json.writeValueAsString(json.createObjectNode().put("id", "wn31-n-" + s.offset()).put("title", s.lemmas().get(0)).put("text", s.definition())))
                    .append('\n');
        }
        for (var p : d.train()) train.append(pair(json, p)).append('\n');
        for (var p : d.heldout()) held.append(pair(json, p)).append('\n');
        write(dir.resolve("corpus.jsonl"), corpus.toString());
        write(dir.resolve("train.jsonl"), train.toString());
        write(dir.resolve("heldout.jsonl"), held.toString());
        int threads = Runtime.getRuntime().availableProcessors();
        write(dir.resolve("pretrain.json"), """
                {"corpus": {"path": "corpus.jsonl"}, "init": {}, "projection_dim": 384, "k": 4, "query_len": 48, "block_len": 64,
                 "batch": 4, "steps": 40, "lr": 2e-5, "warmup": 4, "refresh_every": 15, "retriever_lr_scale": 0.1, "masking": "salient",
                 "checkpoint_dir": "pretrain", "checkpoint_every": 40, "keep_checkpoints": 1, "seed": 1, "threads": %d}
                """.formatted(threads));
        write(dir.resolve("finetune.json"), """
                {"corpus": {"path": "corpus.jsonl"}, "train": {"path": "train.jsonl"}, "init": {"checkpoint": "pretrain"},
                 "k": 5, "query_len": 48, "block_len": 64, "max_span": 10, "reader_titles": true, "batch": 8, "steps": 130, "lr": 5e-5, "warmup": 13,
                 "checkpoint_dir": "finetune", "checkpoint_every": 50, "keep_checkpoints": 1, "seed": 1, "threads": %d}
                """.formatted(threads));
        ObjectNode marker = json.createObjectNode().put("format", "realm-java/demo/1").put("blocks", d.corpus().size()).put("train", d.train().size())
                .put("heldout", d.heldout().size());
        write(dir.resolve(MARKER), marker.toPrettyString());
    }

    private static String pair(ObjectMapper json, DemoData.Pair p) throws IOException {
        ObjectNode n = json.createObjectNode().put("question", p.question());
        var a = n.putArray("answer");
        p.answers().forEach(a::add);
        return json.writeValueAsString(n);
    }

    private static void write(Path f, String s) throws IOException {
        AtomicFiles.write(f, ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8)));
    }
}
