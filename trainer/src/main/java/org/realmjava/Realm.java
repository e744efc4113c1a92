package org.realmjava;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.realmjava.serve.AnswerService;
import org.realmjava.trainer.qa.OpenQa;
import org.realmjava.trainer.qa.QaCheckpoint;

/**
 * The library entry point: a fine-tuned REALM checkpoint that answers questions.
 *
 * <pre>{@code
 * try (Realm realm = Realm.open(Path.of("checkpoints/qa"))) {
 *     OpenQa.Prediction p = realm.ask("What is the most populated country in the world?");
 *     System.out.println(p.answer() + " " + p.probability());
 *     for (OpenQa.Evidence e : p.evidence()) System.out.println(e.title() + " " + e.retrievalProbability());
 * }
 * }</pre>
 *
 * Safe and concurrent from many threads: questions asked at the same time are answered together,
 * as one batch through the query tower and the index ({@link AnswerService}); no lock is held
 * around a whole question. Each batch already uses every worker thread of the engine.
 */
public final class Realm implements AutoCloseable {
    /** Questions answered as one batch at most, and how many may wait for the model. */
    static final int MAX_BATCH = 16, QUEUE = 256;

    private final OpenQa qa;
    private final AnswerService answers;

    private Realm(OpenQa qa) {
        this.qa = qa;
        this.answers = new AnswerService(qa, MAX_BATCH, QUEUE, n -> {});
    }

    /** Loads a fine-tuned checkpoint: a step directory, or a run's checkpoint_dir (its newest step). */
    public static Realm open(Path checkpoint) {
        return new Realm(QaCheckpoint.load(checkpoint));
    }

    /** Answers with the checkpoint's k (5 unless fine-tuned otherwise). */
    public OpenQa.Prediction ask(String question) {
        return ask(question, qa.settings.k());
    }

    /** Answers from the top k blocks (k is clamped to the corpus size). */
    public OpenQa.Prediction ask(String question, int k) {
        if (question == null || question.isBlank()) throw new IllegalArgumentException("the question is empty");
        if (k < 1) throw new IllegalArgumentException("k must be at least 1, got " + k);
        return join(answers.submitWaiting(question.strip(), Math.min(k, qa.blocks.size())));
    }

    /** Answers several questions (one batch through the query tower). */
    public List<OpenQa.Prediction> askAll(List<String> questions, int k) {
        for (String q : questions) if (q == null || q.isBlank()) throw new IllegalArgumentException("a question is empty");
        if (k < 1) throw new IllegalArgumentException("k must be at least 1, got " + k);
        int kk = Math.min(k, qa.blocks.size());
        List<CompletableFuture<OpenQa.Prediction>> pending = questions.stream().map(q -> answers.submitWaiting(q.strip(), kk)).toList();
        return pending.stream().map(Realm::join).toList();
    }

    private static <T> T join(CompletableFuture<T> f) {
        try {
            return f.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            if (e.getCause() instanceof Error r) throw r;
            throw e;
        }
    }

    public int defaultK() {
        return qa.settings.k();
    }

    public int blocks() {
        return qa.blocks.size();
    }

    /** The model, index and blocks behind this facade (for evaluation and tools). */
    public OpenQa openQa() {
        return qa;
    }

    /** Answers the questions already asked, then closes the index. */
    @Override
    public void close() {
        answers.close();
    }
}
