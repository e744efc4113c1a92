package org.realmjava.trainer.pretrain;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import org.realmjava.tensor.Autograd;
import org.realmjava.trainer.checkpoint.ModelStore;
import org.realmjava.trainer.config.PretrainConfig;
import org.realmjava.trainer.corpus.MaskedQuery;
import org.realmjava.trainer.eval.AnswerNormalizer;
import org.realmjava.trainer.eval.RetrievalRecall;
import org.realmjava.trainer.model.ModelInit;
import org.realmjava.trainer.model.RealmModel;
import org.realmjava.trainer.qa.QaExample;
import org.realmjava.trainer.retrieval.IndexRefresher;
import org.realmjava.transformer.tokenizer.WordPieceTokenizer;
import org.realmjava.trainer.train.TrainingListener;

/**
 * Measures a pre-training checkpoint, or the model a config starts from, on the config's corpus:
 * masked-token accuracy and log-likelihood on the held-out sentences (blocks kept out of the
 * training queries; retrieval as in training: top k of the index plus the null document, no
 * dropout), zero-shot retrieval recall@k of the query tower on QA questions, and examples of held-out
 * queries whose masked span occurs in a retrieved block other than their own. The index is rebuilt
 * from the evaluated model's document tower (not the stale one it was trained against).
 */
public final class PretrainEvaluation implements AutoCloseable {
    private final RealmPretrainer trainer;
    private final Path indexDir;

    private PretrainEvaluation(RealmPretrainer trainer, Path indexDir) {
        this.trainer = trainer;
        this.indexDir = indexDir;
    }

    /** checkpoint: a step directory (or a run's checkpoint_dir: its newest); null: the config's starting model. */
    public static PretrainEvaluation open(PretrainConfig config, Path checkpoint, TrainingListener listener) throws IOException {
        org.realmjava.trainer.train.RunDirectory.requireThreads(config.threads());
        RealmModel model;
        WordPieceTokenizer tokenizer;
        boolean needsPca = false;
        if (checkpoint != null) {
            Path dir = ModelInit.CheckpointPaths.modelDirectory(checkpoint);
            model = ModelStore.load(dir);
            tokenizer = WordPieceTokenizer.load(ModelInit.CheckpointPaths.tokenizerIn(dir));
            listener.info("model: checkpoint " + dir);
        } else {
            ModelInit.Result init = ModelInit.create(config.init(), config.projectionDim(), config.sharedTowers(), config.seed());
            model = init.model();
            tokenizer = init.tokenizer();
            needsPca = init.needsCorpusPca();
            listener.info("model: " + init.description() + " (the config's starting point)");
        }
        PretrainRun.Corpus corpus = PretrainRun.Corpus.load(config, tokenizer, listener);
        Path indexDir = Files.createTempDirectory("realm-eval-index");
        IndexRefresher refresher = new IndexRefresher(indexDir, corpus.inputs(), tokenizer.sepId(), config.refreshBatch(),
                model.spec.projectionDim());
        RealmPretrainer t = new RealmPretrainer(config, model, tokenizer, corpus.blocks(), corpus.inputs(), corpus.data(), refresher);
        if (needsPca) {
            float[] pooled = org.realmjava.trainer.retrieval.DocumentEmbedder.pooled(model.spec, model.docTower, corpus.inputs(),
                    tokenizer.sepId(), config.refreshBatch(), null);
            ModelInit.setProjectionToPca(model, pooled, corpus.blocks().size());
        }
        listener.stageStart("index", corpus.blocks().size(), "blocks");
        refresher.publish(refresher.embed(model.documentTower(), 0, listener::stageProgress));
        listener.stageEnd();
        return new PretrainEvaluation(t, indexDir);
    }

    public record Heldout(int queries, int maskedTokens, double accuracy, double logLikelihoodPerToken) {}

    /** Up to max held-out queries, in batches of the config's batch size, without dropout or gradients. */
    public Heldout heldout(int max) {
        PretrainData data = trainer.data;
        int n = Math.min(max, data.heldoutQueries());
        if (n == 0) return new Heldout(0, 0, Double.NaN, Double.NaN);
        double hits = 0, ll = 0;
        int tokens = 0;
        try (var g = Autograd.noGrad()) {
            for (int start = 0; start < n; start += trainer.config.batch()) {
                List<MaskedQuery> batch = new ArrayList<>();
                for (int i = start; i < Math.min(n, start + trainer.config.batch()); i++) batch.add(data.heldout(i));
                RealmPretrainer.Forward f = trainer.forward(batch, null, new org.realmjava.trainer.train.PhaseTimes());
                hits += f.sums().accuracyHits();
                ll += f.sums().logLikelihoodSum();
                tokens += f.sums().maskedTokens();
            }
        }
        return new Heldout(n, tokens, hits / tokens, ll / tokens);
    }

    public RetrievalRecall.Result recall(List<QaExample> questions, int[] ks) {
        return RetrievalRecall.evaluate(trainer.model, trainer.tokenizer, trainer.blocks, trainer.refresher.index(), questions, trainer.config.queryLen(), ks);
    }

    /**
     * Held-out queries (up to n) whose masked span occurs, as words, in one of their retrieved
     * blocks (never their own): the masked fact is there only in another block. One line each:
     * the sentence with the span masked, the block that holds it, its p(z|x), and log p(y|z,x) -
     * log p(y|null,x).
     */
    public List<String> factsInOtherBlocks(int n, int scan) {
        List<String> out = new ArrayList<>();
        PretrainData data = trainer.data;
        try (var g = Autograd.noGrad()) {
            for (int i = 0; i < Math.min(scan, data.heldoutQueries()) && out.size() < n; i++) {
                MaskedQuery q = data.heldout(i);
                String span = AnswerNormalizer.normalize(q.maskedText());
                if (span.isEmpty()) continue;
                RealmPretrainer.Explained e = trainer.explain(q);
                for (int j = 0; j < e.blocks().length - 1; j++) {
                    if (e.blocks()[j] < 0) continue;
                    var b = trainer.blocks.get(e.blocks()[j]);
                    if (!AnswerNormalizer.containsWords(AnswerNormalizer.normalize(b.text()), span)) continue;
                    String sentence = trainer.blocks.get(q.block()).sentence(q.sentence());
                    out.add(String.format(Locale.ROOT, "\"%s\" [masked: %s] -> block %d \"%s\" p(z|x)=%.3f, log p(y|z,x) - log p(y|null,x) = %+.3f",
                            sentence.length() > 140 ? sentence.substring(0, 140) + "..." : sentence, q.maskedText(), b.index(),
                            b.title().isEmpty() ? b.text().substring(0, Math.min(60, b.text().length())) : b.title(), e.prior()[j], e.utility()[j]));
                    break;
                }
            }
        }
        return out;
    }

    @Override
    public void close() throws IOException {
        trainer.refresher.close();
        try (var s = Files.walk(indexDir)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
