package org.realmjava.trainer.pretrain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.realmjava.mips.FloatMatrix;
import org.realmjava.mips.VectorFiles;
import org.realmjava.trainer.checkpoint.CheckpointDirectory;
import org.realmjava.trainer.checkpoint.ModelStore;
import org.realmjava.trainer.checkpoint.TrainingFiles;
import org.realmjava.trainer.config.ConfigException;
import org.realmjava.trainer.config.PretrainConfig;
import org.realmjava.trainer.corpus.Block;
import org.realmjava.trainer.corpus.BlockSplitter;
import org.realmjava.trainer.corpus.CorpusReader;
import org.realmjava.trainer.corpus.Document;
import org.realmjava.trainer.corpus.Masking;
import org.realmjava.trainer.model.ModelInit;
import org.realmjava.trainer.model.RealmModel;
import org.realmjava.trainer.retrieval.BlockInputs;
import org.realmjava.trainer.retrieval.DocumentEmbedder;
import org.realmjava.trainer.retrieval.IndexRefresher;
import org.realmjava.transformer.tokenizer.WordPieceTokenizer;
import org.realmjava.trainer.train.TrainingListener;
import org.realmjava.trainer.train.MetricsLog;

/**
 * A pre-training run in its checkpoint_dir: starts fresh (model from init, corpus PCA when the
 * projection needs it, the index built from the starting document tower before step 0) or resumes
 * from the newest checkpoint there, trains to the configured step count, and checkpoints.
 *
 * <p>A checkpoint ({@code step-NNNNNNN/}) holds the model ({@link ModelStore}), the tokenizer, the
 * AdamW moments and step ({@code optimizer.bin}), the vectors of the live index and of the refresh in
 * flight ({@code index-live.npy}, {@code index-pending.npy}: a checkpoint waits for that refresh) and
 * {@code state.json} (step, counters, the snapshot steps and generation number behind those vectors,
 * and what model and corpus the run was started with). Data order, masking and dropout are
 * functions of (seed, step), so nothing else is needed for a resumed run to repeat the
 * uninterrupted one's losses.
 */
public final class PretrainRun implements AutoCloseable {
    static final String STATE = "state.json", LIVE = "index-live.npy", PENDING = "index-pending.npy";
    static final String STATE_FORMAT = "realm-java/pretrain-state/1";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final PretrainConfig config;
    private final TrainingListener listener;
    private final RealmPretrainer trainer;
    private final MetricsLog metrics;
    private final TrainingFiles.Tokenizer tokenizer;
    private final String modelKey, corpusKey;
    private final long startStep;

    private PretrainRun(PretrainConfig config, TrainingListener listener, RealmPretrainer trainer, MetricsLog metrics, TrainingFiles.Tokenizer tokenizer,
                        String modelKey, String corpusKey, long startStep) {
        this.config = config;
        this.listener = listener;
        this.trainer = trainer;
        this.metrics = metrics;
        this.tokenizer = tokenizer;
        this.modelKey = modelKey;
        this.corpusKey = corpusKey;
        this.startStep = startStep;
    }

    public long startStep() {
        return startStep;
    }

    public RealmModel model() {
        return trainer.model;
    }

    RealmPretrainer trainer() {
        return trainer;
    }

    public static PretrainRun open(PretrainConfig config, TrainingListener listener) throws IOException {
        RealmPretrainer.requireThreads(config.threads());
        Path dir = config.checkpointDir();
        if (Files.exists(dir) && !Files.isDirectory(dir)) throw new ConfigException("checkpoint_dir " + dir + " exists and is not a directory");
        CheckpointDirectory.removeTemporaries(dir);
        Path latest = CheckpointDirectory.latest(dir);
        String modelKey = modelKey(config);
        JsonNode state = latest == null ? null : readState(latest);
        if (state != null && !modelKey.equals(state.path("model_key").asText())) {
            throw new ConfigException("checkpoint_dir " + dir + " holds a run of another model (" + state.path("model_key").asText() + "; this config: "
                    + modelKey + "): use another checkpoint_dir");
        }

        // the corpus file first: a bad one fails before anything is loaded or printed
        List<Document> docs = CorpusReader.read(config.corpus().path(), config.corpus().format(), config.corpus().limit());
        // the model and its tokenizer: from the checkpoint being resumed, or from init
        RealmModel model;
        WordPieceTokenizer tokenizer;
        Path tokenizerFile;
        boolean needsPca = false;
        if (latest != null) {
            model = ModelStore.load(latest);
            tokenizerFile = ModelInit.CheckpointPaths.tokenizerIn(latest);
            tokenizer = WordPieceTokenizer.load(tokenizerFile);
        } else {
            ModelInit.Result init = ModelInit.create(config.init(), config.projectionDim(), config.sharedTowers(), config.seed());
            model = init.model();
            tokenizer = init.tokenizer();
            tokenizerFile = init.tokenizerFile();
            needsPca = init.needsCorpusPca();
            listener.info("model: " + init.description());
        }
        TrainingFiles.Tokenizer tokenizerCopy = TrainingFiles.Tokenizer.of(tokenizerFile);

        Corpus corpus = Corpus.load(config, tokenizer, listener, docs);
        List<Block> blocks = corpus.blocks();
        String corpusKey = corpusKey(blocks);
        if (state != null && !corpusKey.equals(state.path("corpus_key").asText())) {
            throw new ConfigException("checkpoint_dir " + dir + " was trained on another corpus (" + state.path("corpus_key").asText() + ", now "
                    + corpusKey + "): use another checkpoint_dir");
        }
        PretrainData data = corpus.data();
        BlockInputs inputs = corpus.inputs();
        // created only now: a config, model or corpus that fails above leaves nothing behind
        Files.createDirectories(dir);
        IndexRefresher refresher = new IndexRefresher(dir.resolve("index"), inputs, tokenizer.sepId(), config.refreshBatch(),
                model.spec.projectionDim());
        RealmPretrainer trainer = new RealmPretrainer(config, model, tokenizer, blocks, inputs, data, refresher);

        long start = 0;
        if (latest != null) {
            start = state.path("step").asLong();
            restore(trainer, latest, state);
            listener.info("resuming from step " + start + " (" + latest + ")");
        } else {
            if (needsPca) {
                listener.stageStart("corpus PCA", blocks.size(), "blocks");
                float[] pooled = DocumentEmbedder.pooled(model.spec, model.docTower, inputs, tokenizer.sepId(), config.refreshBatch(),
                        listener::stageProgress);
                listener.stageEnd();
                ModelInit.setProjectionToPca(model, pooled, blocks.size());
            }
            if (config.retrieval()) {
                listener.stageStart("index (step 0)", blocks.size(), "blocks");
                IndexRefresher.Generation g = refresher.embed(model.documentTower(), 0, listener::stageProgress);
                listener.stageEnd();
                refresher.publish(g);
                listener.info(String.format("index: %d blocks embedded in %.1f s (%.0f blocks/s)", blocks.size(), g.seconds(), blocks.size() / g.seconds()));
            } else {
                refresher.publish(new IndexRefresher.Generation(new float[blocks.size() * model.spec.projectionDim()], 0, 0));
            }
        }
        MetricsLog metrics = new MetricsLog(dir, start, StepMetrics.PLOTS);
        return new PretrainRun(config, listener, trainer, metrics, tokenizerCopy, modelKey, corpusKey, start);
    }

    /** Trains from the start step to config.steps; returns the final checkpoint. */
    public Path run() throws IOException {
        Path last = CheckpointDirectory.latest(config.checkpointDir());
        listener.trainingStart("pretrain", startStep, config.steps());
        for (long s = startStep; s < config.steps(); s++) {
            double[] refresh = config.retrieval() ? trainer.refreshSchedule(s) : new double[] {0, Double.NaN};
            StepMetrics m = trainer.step(s, refresh[0], refresh[1]);
            metrics.append(m.toJson());
            listener.step(m.step(), m.summary());
            trainer.update.stopIfStuck(s);
            long done = s + 1;
            if (done % config.checkpointEvery() == 0 || done == config.steps()) {
                last = save(done);
                listener.checkpoint(last);
            }
        }
        return last;
    }

    private Path save(long done) throws IOException {
        IndexRefresher.Generation pending = trainer.refresher.awaitPending();
        IndexRefresher.Generation live = trainer.refresher.liveGeneration();
        int dim = trainer.model.spec.projectionDim(), n = trainer.blocks.size();
        Path written = CheckpointDirectory.write(config.checkpointDir(), done, config.keepCheckpoints(), tmp -> {
            TrainingFiles.write(tmp, trainer.model, tokenizer, trainer.optimizer);
            VectorFiles.writeNpy(tmp.resolve(LIVE), new FloatMatrix(live.vectors(), n, dim));
            if (pending != null) VectorFiles.writeNpy(tmp.resolve(PENDING), new FloatMatrix(pending.vectors(), n, dim));
            ObjectNode st = JSON.createObjectNode();
            st.put("format", STATE_FORMAT).put("step", done).put("seed", config.seed()).put("skipped_steps", trainer.update.skipped)
                    .put("non_finite_streak", trainer.update.streak).put("model_key", modelKey).put("corpus_key", corpusKey)
                    .put("index_generation", trainer.refresher.generationNumber()).put("live_snapshot_step", live.snapshotStep());
            if (pending != null) st.put("pending_snapshot_step", pending.snapshotStep());
            else st.putNull("pending_snapshot_step");
            Files.writeString(tmp.resolve(STATE), st.toPrettyString(), StandardCharsets.UTF_8);
        });
        metrics.plot(config.checkpointDir());
        return written;
    }

    private static void restore(RealmPretrainer t, Path ckpt, JsonNode state) throws IOException {
        TrainingFiles.readOptimizer(ckpt, t.optimizer);
        t.update.skipped = state.path("skipped_steps").asLong();
        t.update.streak = state.path("non_finite_streak").asLong();
        FloatMatrix live = VectorFiles.readAll(ckpt.resolve(LIVE));
        t.refresher.restoreLive(new IndexRefresher.Generation(live.data(), state.path("live_snapshot_step").asLong(), 0),
                state.path("index_generation").asLong());
        JsonNode ps = state.get("pending_snapshot_step");
        if (ps != null && !ps.isNull()) {
            t.refresher.restorePending(new IndexRefresher.Generation(VectorFiles.readAll(ckpt.resolve(PENDING)).data(), ps.asLong(), 0));
        }
    }

    private static JsonNode readState(Path ckpt) {
        Path f = ckpt.resolve(STATE);
        try {
            JsonNode n = JSON.readTree(f.toFile());
            if (!STATE_FORMAT.equals(n.path("format").asText())) throw new ConfigException(f + ": not a pre-training state (format " + n.path("format") + ")");
            return n;
        } catch (IOException e) {
            throw new ConfigException(f + ": cannot read: " + e.getMessage().lines().findFirst().orElse(""));
        }
    }

    /** What decides the model's shapes and start: a checkpoint_dir holds one run of one model. */
    static String modelKey(PretrainConfig c) {
        var i = c.init();
        String source = i.checkpoint() != null ? "checkpoint " + i.checkpoint() : i.random() != null ? "random " + i.random() : i.model() != null
                ? "model " + i.model() : "built-in all-MiniLM-L6-v2";
        return source + ", projection " + c.projectionDim() + (c.sharedTowers() ? ", shared towers" : "");
    }

    /** The corpus of a run as blocks, its query stream, and the blocks' token ids. */
    record Corpus(List<Document> documents, List<Block> blocks, PretrainData data, BlockInputs inputs) {
        static Corpus load(PretrainConfig config, WordPieceTokenizer tokenizer, TrainingListener listener) {
            return load(config, tokenizer, listener, CorpusReader.read(config.corpus().path(), config.corpus().format(), config.corpus().limit()));
        }

        static Corpus load(PretrainConfig config, WordPieceTokenizer tokenizer, TrainingListener listener, List<Document> docs) {
            List<Block> blocks = new BlockSplitter(tokenizer, config.blockLen()).split(docs);
            if (config.retrieval() && config.k() >= blocks.size()) {
                throw new ConfigException("config " + config.file().getFileName() + ": 'k' (" + config.k() + ") must be smaller than the corpus's "
                        + blocks.size() + " blocks (a query's own block is never a candidate)");
            }
            List<String> titles = new ArrayList<>();
            for (Block b : blocks) titles.add(b.title());
            Masking masking = new Masking(tokenizer, config.masking(), config.queryLen(), titles);
            PretrainData data = new PretrainData(blocks, masking, config.seed(), config.heldout());
            listener.info(String.format("corpus: %d documents, %d blocks (<= %d wordpieces); %d training queries, %d held out; %s masking",
                    docs.size(), blocks.size(), config.blockLen(), data.trainingQueries(), data.heldoutQueries(), config.masking().configName));
            return new Corpus(docs, blocks, data, new BlockInputs(blocks, tokenizer, config.blockLen()));
        }
    }

    /** Number of blocks and a hash over their hashes. */
    public static String corpusKey(List<Block> blocks) {
        long h = 0;
        for (Block b : blocks) h = PretrainData.mix(h, b.hash());
        return blocks.size() + " blocks, " + Long.toHexString(h);
    }

    @Override
    public void close() {
        trainer.refresher.close();
    }
}
