package org.realmjava.trainer.finetune;

import java.io.IOException;
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
import org.realmjava.trainer.qa.OpenQa;
import org.realmjava.trainer.qa.QaCheckpoint;
import org.realmjava.trainer.qa.QaExample;
import org.realmjava.trainer.qa.QaReader;
import org.realmjava.trainer.retrieval.BlockInputs;
import org.realmjava.trainer.retrieval.DocumentEmbedder;
import org.realmjava.trainer.train.RunDirectory;
import org.realmjava.trainer.train.RunState;
import org.realmjava.trainer.train.Seeds;
import org.realmjava.trainer.train.TrainingListener;
import org.realmjava.trainer.train.TrainingLoop;
import org.realmjava.transformer.tokenizer.WordPieceTokenizer;

/**
 * A fine-tuning run in its checkpoint_dir: starts from init (a pretrain/ICT checkpoint, or an
 * encoder), builds the frozen index of the corpus with the starting document tower, or resumes
 * from the newest checkpoint there; then runs the {@link TrainingLoop} with the {@link Finetuner}
 * objective. A checkpoint holds, besides the loop's files (model, tokenizer, optimizer,
 * state.json), the Open-QA files ({@link QaCheckpoint}: settings, span head, blocks, index);
 * question order and dropout are functions of (seed, step), so a resumed run repeats the
 * uninterrupted one.
 */
public final class FinetuneRun {
    private final Finetuner trainer;
    private final TrainingLoop<Finetuner.Sums> loop;

    private FinetuneRun(Finetuner trainer, TrainingLoop<Finetuner.Sums> loop) {
        this.trainer = trainer;
        this.loop = loop;
    }

    public long startStep() {
        return loop.startStep();
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
        String modelKey = ModelInit.key(config.init(), config.projectionDim(), false);
        RunDirectory run = RunDirectory.open(config.training().checkpointDir(), "finetune", config.training().threads(), modelKey, listener);
        Path latest = run.latest();

        // the data first: a bad file fails before anything is loaded or written
        List<QaExample> train = trainingQuestions(config.train());
        List<Document> docs = CorpusReader.read(config.corpus().path(), config.corpus().format(), config.corpus().limit());

        ModelInit.Result start = ModelInit.startOrResume(latest, config.init(), config.projectionDim(), false, config.training().seed());
        RealmModel model = start.model();
        SpanHead head;
        boolean needsPca = start.needsCorpusPca();
        if (latest != null) {
            head = QaCheckpoint.readSpanHead(latest.resolve(QaCheckpoint.SPAN_HEAD), model.reader.config.hiddenSize());
        } else {
            Path from = config.init().checkpoint() == null ? null : ModelInit.CheckpointPaths.modelDirectory(config.init().checkpoint());
            head = from != null && QaCheckpoint.isQaCheckpoint(from)
                    ? QaCheckpoint.readSpanHead(from.resolve(QaCheckpoint.SPAN_HEAD), model.reader.config.hiddenSize())
                    : SpanHead.init(model.reader.config.hiddenSize(), Seeds.Stream.SPAN_HEAD_INIT.once(config.training().seed()));
            listener.info("model: " + start.description() + (model.spec.sharedTowers() ? " (shared towers: the query tower is trained as a copy)" : ""));
            model = untied(model);
        }
        WordPieceTokenizer tok = start.tokenizer();
        List<Block> blocks = new BlockSplitter(tok, config.blockLen()).split(docs);
        if (config.k() > blocks.size()) {
            throw new ConfigException("config " + config.file().getFileName() + ": 'k' (" + config.k() + ") exceeds the corpus's " + blocks.size() + " blocks");
        }
        var identity = new TrainingLoop.Identity(modelKey, RunState.corpusKey(blocks) + "; " + questionsKey(train), RunState.settingsOf(config));
        run.requireSameInputs(identity.dataKey(), identity.settings());
        listener.info(String.format("corpus: %d documents, %d blocks (<= %d wordpieces); %d training questions", docs.size(), blocks.size(), config.blockLen(),
                train.size()));
        run.create();
        float[] vectors;
        int dim = model.spec.projectionDim();
        Path indexDir = run.dir().resolve("index");
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
        Finetuner trainer = new Finetuner(config, qa, train, trainable(model, head), vectors);
        var loop = new TrainingLoop<>(run, trainer, config.training(), model, TrainingFiles.Tokenizer.of(start.tokenizerFile()), identity, listener);
        return new FinetuneRun(trainer, loop);
    }

    /** Trains from the start step to the configured step count; returns the final checkpoint. */
    public Path run() throws IOException {
        return loop.run();
    }

    /** The data key of the training questions: how many, from which file, and a hash over their texts and answers. */
    static String questionsKey(List<QaExample> train) {
        long h = 0;
        for (QaExample q : train) h = Seeds.mix(h, (q.question() + "\n" + String.join("\t", q.answers())).hashCode());
        return train.size() + " questions, " + Long.toHexString(h);
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
}
