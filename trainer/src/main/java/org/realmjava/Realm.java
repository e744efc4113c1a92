package org.realmjava;

import java.nio.file.Path;
import java.util.List;
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
 * Safe to call from several threads: calls are served one at a time (each one already uses every
 * worker thread of the engine), so concurrent callers queue rather than share half-built state.
 */
public final class Realm implements AutoCloseable {
    private final OpenQa qa;

    private Realm(OpenQa qa) {
        this.qa = qa;
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
    public synchronized OpenQa.Prediction ask(String question, int k) {
        if (question == null || question.isBlank()) throw new IllegalArgumentException("the question is empty");
        if (k < 1) throw new IllegalArgumentException("k must be at least 1, got " + k);
        return qa.predict(List.of(question.strip()), Math.min(k, qa.blocks.size())).get(0);
    }

    /** Answers several questions (one batch through the query tower). */
    public synchronized List<OpenQa.Prediction> askAll(List<String> questions, int k) {
        for (String q : questions) if (q == null || q.isBlank()) throw new IllegalArgumentException("a question is empty");
        return qa.predict(questions.stream().map(String::strip).toList(), Math.min(k, qa.blocks.size()));
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

    @Override
    public synchronized void close() {
        qa.index.close();
    }
}
