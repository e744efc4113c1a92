package org.realmjava.trainer.pretrain;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
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
        ModelInit.Result created = null;
        if (checkpoint != null) {
            Path dir = ModelInit.CheckpointPaths.modelDirectory(checkpoint);
            model = ModelStore.load(dir);
            tokenizer = WordPieceTokenizer.load(ModelInit.CheckpointPaths.tokenizerIn(dir));
            listener.info("model: checkpoint " + dir);
        } else {
            created = ModelInit.create(config.init(), config.projectionDim(), config.sharedTowers(), config.seed());
            model = created.model();
            tokenizer = created.tokenizer();
            needsPca = created.needsCorpusPca();
            listener.info("model: " + created.description() + " (the config's starting point)");
        }
        PretrainRun.Corpus corpus = PretrainRun.Corpus.load(config, tokenizer, listener);
        if (created != null) created.addCorpusVectors(corpus.inputs().all());
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

    /**
     * What a checkpoint makes of held-out probes: span accuracy (every masked wordpiece right by
     * argmax of sum_z p(z|x) p(y|z,x)), token accuracy, log-likelihood per masked wordpiece, and
     * recall@k of the probes' blocks by the query tower over the evaluated document tower's index
     * (NaN when no probe names blocks).
     */
    public record ProbeResult(int probes, int maskedTokens, double spanAccuracy, double tokenAccuracy, double logLikelihoodPerToken, int withBlocks,
                              int[] ks, double[] recall, double readingSpanAccuracy, List<Outcome> outcomes) {}

    /**
     * One probe: the predicted span (wordpieces joined), right or not, the rank of its first block
     * in the query tower's search (-1: not in the top max k, or no blocks named), and right or not
     * when it reads its own blocks (null: no blocks named).
     */
    public record Outcome(int line, String mask, String predicted, boolean right, int firstBlockRank, Boolean rightReadingItsBlocks) {}

    /**
     * As documented at {@link ProbeResult}; readingSpanAccuracy: the span accuracy when each probe
     * naming blocks reads those (up to k, then the null document, p(z|x) from the towers over them)
     * instead of the index's top k: the reader's share of the errors, apart from the retriever's.
     */
    public ProbeResult probes(List<Probe> probes, int[] ks, java.nio.file.Path file) {
        java.util.Map<String, List<Integer>> bySource = new java.util.HashMap<>();
        for (var b : trainer.blocks) bySource.computeIfAbsent(b.sourceId(), x -> new ArrayList<>()).add(b.index());
        List<MaskedQuery> queries = new ArrayList<>();
        List<java.util.Set<Integer>> relevant = new ArrayList<>();
        for (Probe p : probes) {
            java.util.Set<Integer> rel = new java.util.HashSet<>();
            for (String id : p.blocks()) {
                List<Integer> at = bySource.get(id);
                if (at == null) throw new org.realmjava.trainer.corpus.CorpusException(file + ":" + p.line() + ": block id '" + id + "' is not in the corpus");
                rel.addAll(at);
            }
            try {
                queries.add(p.toQuery(trainer.tokenizer, trainer.config.queryLen()));
            } catch (org.realmjava.trainer.corpus.CorpusException e) {
                throw new org.realmjava.trainer.corpus.CorpusException(file + ":" + p.line() + ": " + e.getMessage());
            }
            relevant.add(rel);
        }
        RealmPretrainer.Sums sums = null;
        int maxK = 0;
        for (int k : ks) maxK = Math.max(maxK, k);
        maxK = Math.min(maxK, trainer.blocks.size());
        long[] hits = new long[ks.length];
        int withBlocks = 0, readingHits = 0;
        List<Outcome> outcomes = new ArrayList<>();
        try (var g = Autograd.noGrad()) {
            for (int start = 0; start < queries.size(); start += trainer.config.batch()) {
                List<MaskedQuery> batch = queries.subList(start, Math.min(queries.size(), start + trainer.config.batch()));
                RealmPretrainer.Forward f = trainer.forward(batch, null, new org.realmjava.trainer.train.PhaseTimes());
                sums = sums == null ? f.sums() : sums.plus(f.sums());
                Boolean[] readingRight = new Boolean[batch.size()];
                if (trainer.config.retrieval()) {
                    int k = trainer.config.k();
                    int[][] own = new int[batch.size()][k + 1];
                    for (int i = 0; i < batch.size(); i++) {
                        int[] rel = relevant.get(start + i).stream().mapToInt(Integer::intValue).sorted().toArray();
                        for (int j = 0; j < k; j++) own[i][j] = j < rel.length ? rel[j] : RealmPretrainer.MISSING;
                        own[i][k] = org.realmjava.trainer.retrieval.BlockInputs.NULL_DOCUMENT;
                    }
                    int[][] pred = trainer.forwardOn(batch, own).predictions();
                    for (int i = 0; i < batch.size(); i++) {
                        if (relevant.get(start + i).isEmpty()) continue;
                        readingRight[i] = Arrays.equals(pred[i], batch.get(i).targets());
                        if (readingRight[i]) readingHits++;
                    }
                }
                // zero-shot recall of the probes' blocks by the query tower (also for a run trained without retrieval)
                List<int[]> ids = new ArrayList<>(), types = new ArrayList<>();
                for (MaskedQuery q : batch) {
                    ids.add(q.ids());
                    types.add(new int[q.ids().length]);
                }
                var qb = org.realmjava.trainer.retrieval.Batches.pad(ids, types, trainer.padId);
                float[] qv = trainer.model.embedQueries(qb.ids(), qb.types(), qb.mask(), null).toFloatArray();
                var r = trainer.refresher.index().search(new org.realmjava.mips.FloatMatrix(qv, batch.size(), trainer.model.spec.projectionDim()), maxK,
                        new org.realmjava.mips.SearchOptions(null, null));
                for (int i = 0; i < batch.size(); i++) {
                    java.util.Set<Integer> rel = relevant.get(start + i);
                    int first = Integer.MAX_VALUE;
                    if (!rel.isEmpty()) {
                        withBlocks++;
                        for (int rank = 0; rank < r.count(i); rank++) {
                            if (rel.contains((int) r.id(i, rank))) {
                                first = rank;
                                break;
                            }
                        }
                        for (int j = 0; j < ks.length; j++) if (first < ks[j]) hits[j]++;
                    }
                    Probe p = probes.get(start + i);
                    outcomes.add(new Outcome(p.line(), p.mask(), spanText(f.predictions()[i]), Arrays.equals(f.predictions()[i], batch.get(i).targets()),
                            first == Integer.MAX_VALUE ? -1 : first, readingRight[i]));
                }
            }
        }
        double[] recall = new double[ks.length];
        for (int j = 0; j < ks.length; j++) recall[j] = withBlocks == 0 ? Double.NaN : (double) hits[j] / withBlocks;
        return new ProbeResult(sums.queries(), sums.maskedTokens(), sums.spanHits() / sums.queries(), sums.accuracyHits() / sums.maskedTokens(),
                sums.logLikelihoodSum() / sums.maskedTokens(), withBlocks, ks.clone(), recall,
                withBlocks == 0 || !trainer.config.retrieval() ? Double.NaN : (double) readingHits / withBlocks, List.copyOf(outcomes));
    }

    /** Wordpieces as text: continuation pieces (##) joined to the piece before. */
    private String spanText(int[] ids) {
        StringBuilder sb = new StringBuilder();
        for (int id : ids) {
            String t = trainer.tokenizer.token(id);
            if (t.startsWith("##")) sb.append(t, 2, t.length());
            else sb.append(sb.isEmpty() ? "" : " ").append(t);
        }
        return sb.toString();
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
