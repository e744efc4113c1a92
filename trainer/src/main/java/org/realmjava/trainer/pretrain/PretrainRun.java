package org.realmjava.trainer.pretrain;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.realmjava.trainer.config.ConfigException;
import org.realmjava.trainer.config.InitConfig;
import org.realmjava.trainer.config.PretrainConfig;
import org.realmjava.trainer.corpus.Block;
import org.realmjava.trainer.corpus.BlockSplitter;
import org.realmjava.trainer.corpus.CorpusReader;
import org.realmjava.trainer.corpus.Document;
import org.realmjava.trainer.corpus.Masking;
import org.realmjava.trainer.checkpoint.TrainingFiles;
import org.realmjava.trainer.model.ModelInit;
import org.realmjava.trainer.model.RealmModel;
import org.realmjava.trainer.retrieval.BlockInputs;
import org.realmjava.trainer.retrieval.DocumentEmbedder;
import org.realmjava.trainer.retrieval.IndexRefresher;
import org.realmjava.trainer.train.RunDirectory;
import org.realmjava.trainer.train.RunState;
import org.realmjava.trainer.train.TrainingListener;
import org.realmjava.trainer.train.TrainingLoop;
import org.realmjava.transformer.tokenizer.WordPieceTokenizer;

/**
 * A pre-training run in its checkpoint_dir: starts fresh (model from init, corpus PCA when the
 * projection needs it, the index built from the starting document tower before step 0) or resumes
 * from the newest checkpoint there, then runs the {@link TrainingLoop} with the
 * {@link RealmPretrainer} objective. A checkpoint holds, besides the loop's files, the vectors of
 * the live index and of the refresh in flight ({@code index-live.npy}, {@code index-pending.npy})
 * and their snapshot steps in state.json. Data order, masking and dropout are functions of
 * (seed, step), so nothing else is needed for a resumed run to repeat the uninterrupted one.
 */
public final class PretrainRun implements AutoCloseable {
    private final RealmPretrainer trainer;
    private final TrainingLoop<RealmPretrainer.Sums> loop;

    private PretrainRun(RealmPretrainer trainer, TrainingLoop<RealmPretrainer.Sums> loop) {
        this.trainer = trainer;
        this.loop = loop;
    }

    public long startStep() {
        return loop.startStep();
    }

    public RealmModel model() {
        return trainer.model;
    }

    RealmPretrainer trainer() {
        return trainer;
    }

    public static PretrainRun open(PretrainConfig config, TrainingListener listener) throws IOException {
        String modelKey = ModelInit.key(config.init(), config.projectionDim(), config.sharedTowers());
        RunDirectory run = RunDirectory.open(config.checkpointDir(), "pretrain", config.threads(), modelKey, listener);

        // the corpus file first: a bad one fails before anything is loaded or printed
        List<Document> docs = CorpusReader.read(config.corpus().path(), config.corpus().format(), config.corpus().limit());
        // the model and its tokenizer: from the checkpoint being resumed, or from init
        ModelInit.Result start = ModelInit.startOrResume(run.latest(), config.init(), config.projectionDim(), config.sharedTowers(), config.seed());
        if (!run.resuming()) listener.info("model: " + start.description());
        RealmModel model = start.model();
        WordPieceTokenizer tokenizer = start.tokenizer();
        boolean needsPca = start.needsCorpusPca();
        Corpus corpus = Corpus.load(config, tokenizer, listener, docs);
        List<Block> blocks = corpus.blocks();
        var identity = new TrainingLoop.Identity(modelKey, RunState.corpusKey(blocks), RunState.settingsOf(config));
        run.requireSameInputs(identity.dataKey(), identity.settings());
        // created only now: a config, model or corpus that fails above leaves nothing behind
        run.create();
        IndexRefresher refresher = new IndexRefresher(run.dir().resolve("index"), corpus.inputs(), tokenizer.sepId(), config.refreshBatch(),
                model.spec.projectionDim());
        RealmPretrainer trainer = new RealmPretrainer(config, model, tokenizer, blocks, corpus.inputs(), corpus.data(), refresher);
        if (!run.resuming()) {
            String vectors = start.addCorpusVectors(corpus.inputs().all());
            if (vectors != null) listener.info(vectors);
            if (needsPca) {
                listener.stageStart("corpus PCA", blocks.size(), "blocks");
                float[] pooled = DocumentEmbedder.pooled(model.spec, model.docTower, corpus.inputs(), tokenizer.sepId(), config.refreshBatch(),
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
        var loop = new TrainingLoop<>(run, trainer, config.training(), model, TrainingFiles.Tokenizer.of(start.tokenizerFile()), identity, listener);
        return new PretrainRun(trainer, loop);
    }

    /**
     * The whole pre-training a config describes: its ICT stage first when it has one (in
     * checkpoint_dir/ict, resumed like any run), then REALM starting from that stage's final
     * checkpoint. Returns REALM's final checkpoint.
     */
    public static Path runStages(PretrainConfig config, TrainingListener listener) throws IOException {
        PretrainConfig realm = config;
        if (config.ict() != null) {
            Path ictDir = config.checkpointDir().resolve("ict");
            listener.info("stage 1 of 2: ICT warm start of the retriever, " + config.ict().steps() + " steps (" + ictDir + ")");
            IctRun.open(config.ictConfig(ictDir), listener).run();
            realm = config.withInit(new InitConfig(null, null, ictDir, null, config.init().pooling(), config.init().normalize()));
            listener.info("stage 2 of 2: REALM pre-training from the ICT checkpoint");
        }
        try (PretrainRun run = open(realm, listener)) {
            return run.run();
        }
    }

    /** Trains from the start step to config.steps; returns the final checkpoint. */
    public Path run() throws IOException {
        return loop.run();
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
            Masking masking = new Masking(tokenizer, config.masking(), config.queryLen(), titles, config.queryContext());
            PretrainData data = new PretrainData(blocks, masking, config.seed(), config.heldout());
            listener.info(String.format("corpus: %d documents, %d blocks (<= %d wordpieces); %d training queries, %d held out; %s masking",
                    docs.size(), blocks.size(), config.blockLen(), data.trainingQueries(), data.heldoutQueries(), config.masking().configName));
            return new Corpus(docs, blocks, data, new BlockInputs(blocks, tokenizer, config.blockLen()));
        }
    }

    @Override
    public void close() {
        trainer.refresher.close();
    }
}
