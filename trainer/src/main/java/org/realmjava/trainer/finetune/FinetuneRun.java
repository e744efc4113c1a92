package org.realmjava.trainer.finetune;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.realmjava.mips.FlatIndex;
import org.realmjava.mips.FloatMatrix;
import org.realmjava.mips.IndexWriter;
import org.realmjava.mips.VectorDType;
import org.realmjava.tensor.Tensor;
import org.realmjava.trainer.checkpoint.CheckpointDirectory;
import org.realmjava.trainer.checkpoint.ModelStore;
import org.realmjava.trainer.checkpoint.TrainingFiles;
import org.realmjava.trainer.config.ConfigException;
import org.realmjava.trainer.config.FinetuneConfig;
import org.realmjava.trainer.corpus.Block;
import org.realmjava.trainer.corpus.BlockSplitter;
import org.realmjava.trainer.corpus.CorpusReader;
import org.realmjava.trainer.corpus.Document;
import org.realmjava.trainer.model.ModelInit;
import org.realmjava.trainer.model.RealmModel;
import org.realmjava.trainer.model.RetrieverSpec;
import org.realmjava.trainer.model.SpanHead;
import org.realmjava.trainer.pretrain.PretrainData;
import org.realmjava.trainer.qa.OpenQa;
import org.realmjava.trainer.qa.QaCheckpoint;
import org.realmjava.trainer.qa.QaExample;
import org.realmjava.trainer.qa.QaReader;
import org.realmjava.trainer.retrieval.BlockInputs;
import org.realmjava.trainer.retrieval.DocumentEmbedder;
import org.realmjava.trainer.train.MetricsLog;
import org.realmjava.trainer.train.TrainingListener;
import org.realmjava.transformer.tokenizer.WordPieceTokenizer;

/**
 * A fine-tuning run in its checkpoint_dir: starts from init (a pretrain/ICT checkpoint, or an
 * encoder), builds the frozen index of the corpus with the starting document tower, or resumes
 * from the newest checkpoint there; trains to the step count; checkpoints. A checkpoint
 * ({@code step-NNNNNNN/}) holds the model ({@link ModelStore}), tokenizer and optimizer
 * ({@link TrainingFiles}), the Open-QA files ({@link QaCheckpoint}: settings, span head, blocks,
 * index) and {@code state.json}; question order and dropout are functions of (seed, step), so a
 * resumed run repeats the uninterrupted one.
 */
public final class FinetuneRun {
    static final String STATE = "state.json", STATE_FORMAT = "realm-java/finetune-state/1";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final FinetuneConfig config;
    private final TrainingListener listener;
    private final Finetuner trainer;
    private final MetricsLog metrics;
    private final TrainingFiles.Tokenizer tokenizer;
    private final float[] vectors;
    private final String corpusKey, dataKey;
    private final long startStep;

    private FinetuneRun(FinetuneConfig config, TrainingListener listener, Finetuner trainer, MetricsLog metrics, TrainingFiles.Tokenizer tokenizer,
                        float[] vectors, String corpusKey, String dataKey, long startStep) {
        this.config = config;
        this.listener = listener;
        this.trainer = trainer;
        this.metrics = metrics;
        this.tokenizer = tokenizer;
        this.vectors = vectors;
        this.corpusKey = corpusKey;
        this.dataKey = dataKey;
        this.startStep = startStep;
    }

    public long startStep() {
        return startStep;
    }

    public OpenQa qa() {
        return trainer.qa;
    }

    Finetuner trainer() {
        return trainer;
    }

    /** The training questions of a config: the file's, within the SQuAD article range, at most limit. */
    public static List<QaExample> trainingQuestions(FinetuneConfig.QaDataConfig d) {
        List<QaExample> all = QaReader.read(d.path(), d.format()), out = new ArrayList<>();
        for (QaExample q : all) {
            if (d.articleFrom() >= 0 && (q.article() < d.articleFrom() || q.article() > d.articleTo())) continue;
            out.add(q);
            if (d.limit() > 0 && out.size() == d.limit()) break;
        }
        if (out.isEmpty()) throw new ConfigException("train " + d.path() + ": no questions" + (d.articleFrom() >= 0 ? " in articles " + d.articleFrom() + "-" + d.articleTo() : ""));
        return out;
    }

    public static FinetuneRun open(FinetuneConfig config, TrainingListener listener) throws IOException {
        org.realmjava.trainer.pretrain.RealmPretrainer.requireThreads(config.training().threads());
        Path dir = config.training().checkpointDir();
        if (Files.exists(dir) && !Files.isDirectory(dir)) throw new ConfigException("checkpoint_dir " + dir + " exists and is not a directory");
        CheckpointDirectory.removeTemporaries(dir);
        Path latest = CheckpointDirectory.latest(dir);
        JsonNode state = latest == null ? null : readState(latest);

        // the data first: a bad file fails before anything is loaded or written
        List<QaExample> train = trainingQuestions(config.train());
        List<Document> docs = CorpusReader.read(config.corpus().path(), config.corpus().format(), config.corpus().limit());

        RealmModel model;
        SpanHead head;
        Path tokenizerFile;
        boolean needsPca = false;
        if (latest != null) {
            model = ModelStore.load(latest);
            head = QaCheckpoint.readSpanHead(latest.resolve(QaCheckpoint.SPAN_HEAD), model.reader.config.hiddenSize());
            tokenizerFile = ModelInit.CheckpointPaths.tokenizerIn(latest);
        } else {
            ModelInit.Result init = ModelInit.create(config.init(), config.projectionDim(), false, config.training().seed());
            model = init.model();
            tokenizerFile = init.tokenizerFile();
            needsPca = init.needsCorpusPca();
            Path from = config.init().checkpoint() == null ? null : ModelInit.CheckpointPaths.modelDirectory(config.init().checkpoint());
            head = from != null && QaCheckpoint.isQaCheckpoint(from)
                    ? QaCheckpoint.readSpanHead(from.resolve(QaCheckpoint.SPAN_HEAD), model.reader.config.hiddenSize())
                    : SpanHead.init(model.reader.config.hiddenSize(), PretrainData.mix(config.training().seed(), 0x7370616eL));
            listener.info("model: " + init.description() + (model.spec.sharedTowers() ? " (shared towers: the query tower is trained as a copy)" : ""));
            model = untied(model);
        }
        WordPieceTokenizer tok = WordPieceTokenizer.load(tokenizerFile);
        TrainingFiles.Tokenizer tokenizerCopy = TrainingFiles.Tokenizer.of(tokenizerFile);
        List<Block> blocks = new BlockSplitter(tok, config.blockLen()).split(docs);
        if (config.k() > blocks.size()) {
            throw new ConfigException("config " + config.file().getFileName() + ": 'k' (" + config.k() + ") exceeds the corpus's " + blocks.size() + " blocks");
        }
        String corpusKey = org.realmjava.trainer.pretrain.PretrainRun.corpusKey(blocks), dataKey = train.size() + " questions from " + config.train().path().getFileName();
        if (state != null && !corpusKey.equals(state.path("corpus_key").asText())) {
            throw new ConfigException("checkpoint_dir " + dir + " was fine-tuned on another corpus (" + state.path("corpus_key").asText() + ", now " + corpusKey
                    + "): use another checkpoint_dir");
        }
        listener.info(String.format("corpus: %d documents, %d blocks (<= %d wordpieces); %d training questions", docs.size(), blocks.size(), config.blockLen(),
                train.size()));
        Files.createDirectories(dir);
        float[] vectors;
        int dim = model.spec.projectionDim();
        Path indexDir = dir.resolve("index");
        if (latest != null) {
            FlatIndex saved = FlatIndex.open(latest.resolve(QaCheckpoint.INDEX), false);
            vectors = new float[blocks.size() * dim];
            for (int i = 0; i < blocks.size(); i++) System.arraycopy(saved.vector(i), 0, vectors, i * dim, dim);
            saved.close();
        } else {
            BlockInputs inputs = new BlockInputs(blocks, tok, config.blockLen());
            if (needsPca) {
                listener.stageStart("corpus PCA", blocks.size(), "blocks");
                float[] pooled = DocumentEmbedder.pooled(model.spec, model.docTower, inputs, tok.sepId(), config.indexBatch(), listener::stageProgress);
                listener.stageEnd();
                ModelInit.setProjectionToPca(model, pooled, blocks.size());
            }
            listener.stageStart("index (frozen document tower)", blocks.size(), "blocks");
            long t0 = System.nanoTime();
            vectors = DocumentEmbedder.embed(model.documentTower(), inputs, tok.sepId(), config.indexBatch(), listener::stageProgress);
            listener.stageEnd();
            double sec = (System.nanoTime() - t0) / 1e9;
            listener.info(String.format("index: %d blocks embedded in %.1f s (%.0f blocks/s)", blocks.size(), sec, blocks.size() / sec));
        }
        IndexWriter.build(indexDir, new FloatMatrix(vectors, blocks.size(), dim), VectorDType.F32);
        OpenQa qa = new OpenQa(model, head, tok, blocks, FlatIndex.open(indexDir, false),
                new OpenQa.Settings(config.k(), config.queryLen(), config.blockLen(), config.maxSpan(), config.readerTitles()));
        Finetuner trainer = new Finetuner(config, qa, train, trainable(model, head));
        long start = 0;
        if (latest != null) {
            start = state.path("step").asLong();
            TrainingFiles.readOptimizer(latest, trainer.optimizer);
            trainer.update.skipped = state.path("skipped_steps").asLong();
            trainer.update.streak = state.path("non_finite_streak").asLong();
            listener.info("resuming from step " + start + " (" + latest + ")");
        }
        return new FinetuneRun(config, listener, trainer, new MetricsLog(dir, start, Finetuner.PLOTS), tokenizerCopy, vectors, corpusKey, dataKey, start);
    }

    /** Trains from the start step to the configured step count; returns the final checkpoint. */
    public Path run() throws IOException {
        int steps = config.training().steps(), every = config.training().checkpointEvery();
        Path last = CheckpointDirectory.latest(config.training().checkpointDir());
        listener.trainingStart("finetune", startStep, steps);
        for (long s = startStep; s < steps; s++) {
            Finetuner.Metrics m = trainer.step(s);
            metrics.append(m.toJson());
            listener.step(s, m.summary());
            trainer.update.stopIfStuck(s);
            long done = s + 1;
            if (done % every == 0 || done == steps) {
                last = save(done);
                listener.checkpoint(last);
            }
        }
        return last;
    }

    private Path save(long done) throws IOException {
        OpenQa qa = trainer.qa;
        Path dir = config.training().checkpointDir();
        Path written = CheckpointDirectory.write(dir, done, config.training().keepCheckpoints(), tmp -> {
            TrainingFiles.write(tmp, qa.model, tokenizer, trainer.optimizer);
            QaCheckpoint.write(tmp, qa.settings, qa.spanHead, qa.blocks, vectors, qa.model.spec.projectionDim());
            ObjectNode st = JSON.createObjectNode();
            st.put("format", STATE_FORMAT).put("step", done).put("seed", config.training().seed()).put("skipped_steps", trainer.update.skipped)
                    .put("non_finite_streak", trainer.update.streak).put("corpus_key", corpusKey).put("data_key", dataKey);
            Files.writeString(tmp.resolve(STATE), st.toPrettyString(), StandardCharsets.UTF_8);
        });
        metrics.plot(dir);
        return written;
    }

    /** Separate query and document towers (the query tower trains, the document tower stays as the index saw it). */
    static RealmModel untied(RealmModel m) {
        if (!m.spec.sharedTowers()) return m;
        RetrieverSpec s = m.spec;
        RetrieverSpec spec = new RetrieverSpec(s.pooling(), s.normalize(), s.scoreScale(), s.projectionDim(), false);
        var dp = new org.realmjava.tensor.nn.Linear(m.docProjection.weight.detach().copy().requiresGrad(true),
                m.docProjection.bias == null ? null : m.docProjection.bias.detach().copy().requiresGrad(true));
        return new RealmModel(spec, m.queryTower, ModelInit.copy(m.docTower), m.queryProjection, dp, m.reader, m.mlm);
    }

    /** What fine-tuning trains: the query tower and its projection, the reader, the span head. */
    static Map<String, Tensor> trainable(RealmModel m, SpanHead head) {
        Map<String, Tensor> p = new LinkedHashMap<>();
        m.queryTower.collectParameters("query.", p);
        m.queryProjection.collectParameters("query_projection.", p);
        m.reader.collectParameters("reader.", p);
        head.collectParameters("", p);
        return p;
    }

    private static JsonNode readState(Path ckpt) {
        Path f = ckpt.resolve(STATE);
        try {
            JsonNode n = JSON.readTree(f.toFile());
            if (!STATE_FORMAT.equals(n.path("format").asText())) {
                throw new ConfigException(f + ": not a fine-tuning state (format " + n.path("format") + "): checkpoint_dir holds another kind of run");
            }
            return n;
        } catch (IOException e) {
            throw new ConfigException(f + ": cannot read: " + e.getMessage().lines().findFirst().orElse(""));
        }
    }
}
