package org.realmjava.trainer.pretrain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.realmjava.tensor.Ops;
import org.realmjava.tensor.Tensor;
import org.realmjava.tensor.optim.AdamW;
import org.realmjava.tensor.optim.LearningRateSchedule;
import org.realmjava.trainer.checkpoint.CheckpointDirectory;
import org.realmjava.trainer.checkpoint.ModelStore;
import org.realmjava.trainer.checkpoint.TrainingFiles;
import org.realmjava.trainer.config.ConfigException;
import org.realmjava.trainer.config.IctConfig;
import org.realmjava.trainer.corpus.Block;
import org.realmjava.trainer.corpus.BlockSplitter;
import org.realmjava.trainer.corpus.CorpusReader;
import org.realmjava.trainer.model.ModelInit;
import org.realmjava.trainer.model.RealmModel;
import org.realmjava.trainer.retrieval.Batches;
import org.realmjava.trainer.retrieval.BlockInputs;
import org.realmjava.transformer.tokenizer.WordPieceTokenizer;
import org.realmjava.trainer.train.TrainingListener;
import org.realmjava.trainer.train.MetricsLog;
import org.realmjava.trainer.train.GuardedUpdate;

/**
 * The Inverse Cloze Task (Lee et al. 2019, ORQA), REALM's retriever warm start: a sentence of a
 * block is the query, the block (without that sentence, remove_sentence of the time) its one
 * positive, and the other blocks of the batch its negatives; loss = cross-entropy over the batch of
 * f(query_i, block_j) = scale * q_i . d_j against j = i. Only the retriever (both towers and their
 * projections) trains. Checkpoints, resume and metrics are those of pre-training
 * ({@link CheckpointDirectory}, {@link ModelStore}, {@link MetricsLog}), so an ICT checkpoint is a
 * valid {@code init.checkpoint} of {@code realm pretrain}. Data and dropout are functions of (seed,
 * step): a resumed run repeats the uninterrupted one.
 */
public final class IctRun {
    static final String STATE_FORMAT = "realm-java/ict-state/1";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final IctConfig config;
    private final TrainingListener listener;
    private final RealmModel model;
    private final WordPieceTokenizer wordPieces;
    private final TrainingFiles.Tokenizer tokenizer;
    private final List<Block> blocks;
    private final int[] eligible;
    private final AdamW optimizer;
    private final LearningRateSchedule schedule;
    private final MetricsLog metrics;
    private final GuardedUpdate update = new GuardedUpdate();
    private long start;

    private IctRun(IctConfig config, TrainingListener listener) throws IOException {
        this.config = config;
        this.listener = listener;
        RealmPretrainer.requireThreads(config.threads());
        Path dir = config.checkpointDir();
        if (Files.exists(dir) && !Files.isDirectory(dir)) throw new ConfigException("checkpoint_dir " + dir + " exists and is not a directory");
        CheckpointDirectory.removeTemporaries(dir);
        Path latest = CheckpointDirectory.latest(dir);
        var docs = CorpusReader.read(config.corpus().path(), config.corpus().format(), config.corpus().limit()); // a bad corpus fails first
        Path tokFile;
        if (latest != null) {
            JsonNode st = JSON.readTree(latest.resolve(PretrainRun.STATE).toFile());
            if (!STATE_FORMAT.equals(st.path("format").asText())) throw new ConfigException("checkpoint_dir " + dir + " holds a run of another kind than ICT");
            model = ModelStore.load(latest);
            tokFile = ModelInit.CheckpointPaths.tokenizerIn(latest);
            wordPieces = WordPieceTokenizer.load(tokFile);
            start = st.path("step").asLong();
            update.skipped = st.path("skipped_steps").asLong();
            update.streak = st.path("non_finite_streak").asLong();
        } else {
            ModelInit.Result init = ModelInit.create(config.init(), config.projectionDim(), config.sharedTowers(), config.seed());
            if (init.needsCorpusPca()) {
                throw new ConfigException("config " + config.file().getFileName() + ": 'projection_dim' " + config.projectionDim()
                        + " is below the init model's hidden size: ICT trains the projection, start it at the hidden size (identity)");
            }
            model = init.model();
            wordPieces = init.tokenizer();
            tokFile = init.tokenizerFile();
            listener.info("model: " + init.description());
        }
        tokenizer = TrainingFiles.Tokenizer.of(tokFile);
        blocks = new BlockSplitter(wordPieces, config.blockLen()).split(docs);
        eligible = blocks.stream().filter(b -> b.sentences() >= 2).mapToInt(Block::index).toArray();
        if (eligible.length < config.batch()) {
            throw new ConfigException("config " + config.file().getFileName() + ": 'batch' (" + config.batch() + ") needs as many blocks of 2+ sentences; the corpus has "
                    + eligible.length);
        }
        listener.info(blocks.size() + " blocks, " + eligible.length + " with 2+ sentences (ICT examples)");
        // created only now: a config, model or corpus that fails above leaves nothing behind
        Files.createDirectories(dir);
        optimizer = AdamW.bertDefaults(model.retrieverParameters());
        if (latest != null) {
            TrainingFiles.readOptimizer(latest, optimizer);
            listener.info("resuming from step " + start + " (" + latest + ")");
        }
        schedule = new LearningRateSchedule((float) config.lr(), config.warmup(), config.steps());
        metrics = new MetricsLog(dir, start, StepMetrics.PLOTS);
    }

    public static IctRun open(IctConfig config, TrainingListener listener) throws IOException {
        return new IctRun(config, listener);
    }

    public long startStep() {
        return start;
    }

    /** Example i of step s's batch: the query ids and the context ids (block with or without the sentence). */
    private int[][] example(long position) {
        long epoch = position / eligible.length;
        int[] order = PretrainData.permutation(eligible.length, PretrainData.mix(config.seed() ^ 0x696374L, epoch));
        Block b = blocks.get(eligible[order[(int) (position % eligible.length)]]);
        SplittableRandom r = new SplittableRandom(PretrainData.mix(config.seed() ^ 0x73656e74L, position));
        int s = r.nextInt(b.sentences());
        int[] query = wordPieces.encode(b.sentence(s), null, config.queryLen(), WordPieceTokenizer.Truncation.LONGEST_FIRST).ids();
        String text = b.text();
        if (r.nextDouble() < config.removeSentence()) {
            text = (text.substring(0, b.sentenceStarts()[s]) + " " + text.substring(b.sentenceEnds()[s])).strip();
        }
        int[] context = wordPieces.encode(b.title(), text, config.blockLen(), WordPieceTokenizer.Truncation.ONLY_SECOND).ids();
        return new int[][] {query, context};
    }

    public Path run() throws IOException {
        Path last = CheckpointDirectory.latest(config.checkpointDir());
        listener.trainingStart("ict", start, config.steps());
        int sep = wordPieces.sepId(), pad = wordPieces.padId();
        for (long s = start; s < config.steps(); s++) {
            long t0 = System.nanoTime();
            optimizer.zeroGrad();
            double loss = 0, hits = 0;
            long tokens = 0;
            boolean finite = true;
            for (int micro = 0; micro < config.accumulate() && finite; micro++) {
                int b = config.batch();
                List<int[]> qIds = new ArrayList<>(), qTypes = new ArrayList<>(), cIds = new ArrayList<>(), cTypes = new ArrayList<>();
                for (int i = 0; i < b; i++) {
                    int[][] ex = example((s * config.accumulate() + micro) * b + i);
                    qIds.add(ex[0]);
                    qTypes.add(new int[ex[0].length]);
                    cIds.add(ex[1]);
                    cTypes.add(BlockInputs.typeIds(ex[1], sep));
                }
                SplittableRandom dropout = new SplittableRandom(PretrainData.mix(config.seed() ^ 0x64726f70L, s * config.accumulate() + micro));
                Batches qb = Batches.pad(qIds, qTypes, pad), cb = Batches.pad(cIds, cTypes, pad);
                Tensor q = model.embedQueries(qb.ids(), qb.types(), qb.mask(), dropout);
                Tensor d = model.embedDocuments(cb.ids(), cb.types(), cb.mask(), dropout);
                Tensor scores = q.matmul(d.transpose(0, 1)).scale(model.spec.scoreScale()); // [b, b]: query i against block j
                int[] diag = new int[b];
                for (int i = 0; i < b; i++) diag[i] = i;
                Tensor l = Ops.crossEntropy(scores, Tensor.ofInts(diag, b), -100, 0f);
                float value = l.item();
                if (!Float.isFinite(value)) {
                    finite = false;
                    break;
                }
                l.scale(1f / config.accumulate()).backward();
                loss += value / config.accumulate();
                float[] sv = scores.detach().toFloatArray();
                for (int i = 0; i < b; i++) {
                    int best = 0;
                    for (int j = 1; j < b; j++) if (sv[i * b + j] > sv[i * b + best]) best = j;
                    if (best == i) hits++;
                }
                tokens += qb.realTokens() + cb.realTokens();
            }
            float lr = schedule.at(s);
            if (!update.apply(optimizer, finite, lr)) loss = Double.NaN;
            double seconds = (System.nanoTime() - t0) / 1e9;
            Map<String, Double> phase = new LinkedHashMap<>();
            phase.put("step", seconds);
            StepMetrics m = new StepMetrics(s, loss, hits / ((double) config.batch() * config.accumulate()), Double.NaN, Double.NaN, 0, 0,
                    tokens / seconds, tokens, update.skipped, lr, seconds, Double.NaN, 0, phase);
            metrics.append(m.toJson());
            listener.step(m.step(), m.summary());
            update.stopIfStuck(s);
            long done = s + 1;
            if (done % config.checkpointEvery() == 0 || done == config.steps()) {
                last = save(done);
                listener.checkpoint(last);
            }
        }
        return last;
    }

    private Path save(long done) throws IOException {
        Path p = CheckpointDirectory.write(config.checkpointDir(), done, config.keepCheckpoints(), tmp -> {
            TrainingFiles.write(tmp, model, tokenizer, optimizer);
            var st = JSON.createObjectNode().put("format", STATE_FORMAT).put("step", done).put("seed", config.seed()).put("skipped_steps", update.skipped)
                    .put("non_finite_streak", update.streak);
            Files.writeString(tmp.resolve(PretrainRun.STATE), st.toPrettyString(), StandardCharsets.UTF_8);
        });
        metrics.plot(config.checkpointDir());
        return p;
    }
}
