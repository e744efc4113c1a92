package org.realmjava.trainer.config;

import java.nio.file.Path;

/**
 * The keys of {@code realm finetune --config C.json} (docs/finetuning.md): the corpus whose
 * blocks are retrieved and read, where the model starts (init.checkpoint: a pretrain or ICT
 * checkpoint; init.model or nothing: an encoder, the no-REALM baseline), the training questions,
 * and the reader: k blocks read per question (5), questions of at most query_len wordpieces (64),
 * blocks of block_len (288), spans of at most max_span wordpieces (10), titles read or not
 * (reader_titles). The training keys (batch, steps, lr, checkpoint_dir, ...) are
 * {@link TrainingKeys}, as in pretrain.
 *
 * @param projectionDim 0: the checkpoint's, or the encoder's hidden size (identity projection)
 * @param spanHeadLrScale the span head's learning rate as a multiple of lr (it starts from random weights, the rest does not)
 */
public record FinetuneConfig(Path file, CorpusConfig corpus, InitConfig init, QaDataConfig train, int projectionDim, int k, int queryLen, int blockLen,
                             int maxSpan, boolean readerTitles, int indexBatch, double spanHeadLrScale, TrainingKeys training) {

    /** A QA data file: path, format (jsonl, curatedtrec, squad; default from the name), SQuAD articles "from-to", at most limit questions. */
    public record QaDataConfig(Path path, String format, int articleFrom, int articleTo, int limit) {
        static QaDataConfig read(ConfigReader c, ConfigReader parent, String key) {
            if (c == null) throw parent.invalid(key, "is missing (e.g. {\"path\": \"train.jsonl\"} with {\"question\", \"answer\": [...]} lines)");
            Path path = c.path("path");
            if (path == null) throw c.invalid("path", "is needed");
            String format = c.string("format", null);
            if (format != null && !org.realmjava.trainer.qa.QaReader.FORMATS.contains(format)) {
                throw c.invalid("format", "must be one of " + String.join(", ", org.realmjava.trainer.qa.QaReader.FORMATS) + ", got '" + format + "'");
            }
            String articles = c.string("articles", null);
            int from = -1, to = -1;
            if (articles != null) {
                int[] range = org.realmjava.trainer.qa.QaReader.articleRange(articles);
                if (range == null) throw c.invalid("articles", "must look like \"0-35\", got '" + articles + "'");
                from = range[0];
                to = range[1];
            }
            return new QaDataConfig(path, format != null ? format : org.realmjava.trainer.qa.QaReader.guessFormat(path), from, to, c.integer("limit", 0, 0));
        }
    }

    public static FinetuneConfig read(Path file) {
        ConfigReader c = ConfigReader.open(file);
        CorpusConfig corpus = CorpusConfig.read(c.object("corpus"), c);
        InitConfig init = InitConfig.read(c.object("init"));
        QaDataConfig train = QaDataConfig.read(c.object("train"), c, "train");
        TrainingKeys t = TrainingKeys.read(c, 4, 1, 1e-5);
        FinetuneConfig f = new FinetuneConfig(c.file(), corpus, init, train, c.integer("projection_dim", 0, 0), c.integer("k", 5, 1),
                c.integer("query_len", 64, 8), c.integer("block_len", 288, 19), c.integer("max_span", 10, 1), c.bool("reader_titles", true),
                c.integer("index_batch", 256, 1), c.number("span_head_lr_scale", 1.0, 0, 1000), t);
        c.finish();
        return f;
    }
}
