package org.realmjava.trainer.pretrain;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.realmjava.trainer.checkpoint.TrainingFiles;
import org.realmjava.trainer.config.ConfigException;
import org.realmjava.trainer.config.IctConfig;
import org.realmjava.trainer.corpus.Block;
import org.realmjava.trainer.corpus.BlockSplitter;
import org.realmjava.trainer.corpus.CorpusReader;
import org.realmjava.trainer.model.ModelInit;
import org.realmjava.trainer.model.RealmModel;
import org.realmjava.trainer.train.RunDirectory;
import org.realmjava.trainer.train.RunState;
import org.realmjava.trainer.train.TrainingListener;
import org.realmjava.trainer.train.TrainingLoop;
import org.realmjava.transformer.tokenizer.WordPieceTokenizer;

/**
 * An ICT run in its checkpoint_dir: the model from init or the newest checkpoint, the corpus split
 * into blocks, then the {@link TrainingLoop} with the {@link IctObjective}. Its checkpoints are
 * those of every run (model, tokenizer, optimizer, state.json), so an ICT checkpoint is a valid
 * {@code init.checkpoint} of {@code realm pretrain} and {@code realm finetune}.
 */
public final class IctRun {
    private final TrainingLoop<IctObjective.Sums> loop;

    private IctRun(TrainingLoop<IctObjective.Sums> loop) {
        this.loop = loop;
    }

    public static IctRun open(IctConfig config, TrainingListener listener) throws IOException {
        String modelKey = ModelInit.key(config.init(), config.projectionDim(), config.sharedTowers());
        RunDirectory run = RunDirectory.open(config.checkpointDir(), "ict", config.threads(), modelKey, listener);
        var docs = CorpusReader.read(config.corpus().path(), config.corpus().format(), config.corpus().limit()); // a bad corpus fails first
        ModelInit.Result start = ModelInit.startOrResume(run.latest(), config.init(), config.projectionDim(), config.sharedTowers(), config.seed());
        if (start.needsCorpusPca()) {
            throw new ConfigException("config " + config.file().getFileName() + ": 'projection_dim' " + config.projectionDim()
                    + " is below the init model's hidden size: ICT trains the projection, start it at the hidden size (identity)");
        }
        if (!run.resuming()) listener.info("model: " + start.description());
        RealmModel model = start.model();
        WordPieceTokenizer tokenizer = start.tokenizer();
        List<Block> blocks = new BlockSplitter(tokenizer, config.blockLen()).split(docs);
        int[] eligible = blocks.stream().filter(b -> b.sentences() >= 2).mapToInt(Block::index).toArray();
        if (eligible.length < config.batch()) {
            throw new ConfigException("config " + config.file().getFileName() + ": 'batch' (" + config.batch() + ") needs as many blocks of 2+ sentences; the corpus has "
                    + eligible.length);
        }
        listener.info(blocks.size() + " blocks, " + eligible.length + " with 2+ sentences (ICT examples)");
        if (!run.resuming() && start.readerCorpusVectors() > 0) {
            // the reader is not trained here, but REALM's stage starts from this run's checkpoint, reader included
            listener.info(start.addCorpusVectors(new org.realmjava.trainer.retrieval.BlockInputs(blocks, tokenizer, config.blockLen()).all()));
        }
        var identity = new TrainingLoop.Identity(modelKey, RunState.corpusKey(blocks), RunState.settingsOf(config));
        var objective = new IctObjective(config, model, tokenizer, blocks, eligible);
        return new IctRun(new TrainingLoop<>(run, objective, config.training(), model, TrainingFiles.Tokenizer.of(start.tokenizerFile()), identity, listener));
    }

    public long startStep() {
        return loop.startStep();
    }

    /** Trains from the start step to the configured step count; returns the final checkpoint. */
    public Path run() throws IOException {
        return loop.run();
    }
}
