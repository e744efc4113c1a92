package org.realmjava.trainer.config;

import java.nio.file.Path;

/**
 * Where the networks start: a pre-trained encoder (model + tokenizer; both null = the built-in
 * all-MiniLM-L6-v2), a REALM/ICT checkpoint directory, or a random BERT of the given sizes (with
 * the built-in tokenizer unless one is named). pooling/normalize override how the retriever reads
 * the towers (null: as the init model was trained: mean + L2 for the built-in model, [CLS] otherwise).
 */
public record InitConfig(Path model, Path tokenizer, Path checkpoint, RandomBert random, String pooling, Boolean normalize) {
    /**
     * A random BERT's shape; dropout (BERT's 0.1 by default) is kept in its saved config. mimetic:
     * attention and MLM-head weights start with trained layers' structure ({@code MimeticInit}).
     * corpusVectors: the length at which the corpus's co-occurrence vectors ({@code CorpusEmbeddings})
     * are added to the reader's word embeddings before step 0 (0: none).
     */
    public record RandomBert(int layers, int hidden, int heads, int intermediate, double dropout, boolean mimetic, double corpusVectors) {
        public RandomBert(int layers, int hidden, int heads, int intermediate) {
            this(layers, hidden, heads, intermediate, 0.1, false, 0);
        }

        public RandomBert(int layers, int hidden, int heads, int intermediate, double dropout, boolean mimetic) {
            this(layers, hidden, heads, intermediate, dropout, mimetic, 0);
        }
    }

    public static InitConfig read(ConfigReader c) {
        if (c == null) return new InitConfig(null, null, null, null, null, null);
        Path model = c.path("model"), tokenizer = c.path("tokenizer"), checkpoint = c.path("checkpoint");
        ConfigReader r = c.object("random");
        RandomBert random = r == null ? null
                : new RandomBert(r.integer("layers", 2, 1), r.integer("hidden", 64, 8), r.integer("heads", 2, 1), r.integer("intermediate", 128, 8),
                        r.number("dropout", 0.1, 0, 0.9), r.bool("mimetic", false), r.number("corpus_vectors", 0.0, 0, 10));
        boolean hasPooling = c.has("pooling"), hasNormalize = c.has("normalize");
        String pooling = c.choice("pooling", "cls", "cls", "mean");
        Boolean normalize = c.bool("normalize", false);
        int sources = (model != null ? 1 : 0) + (checkpoint != null ? 1 : 0) + (random != null ? 1 : 0);
        if (sources > 1) throw c.invalid("model", "conflicts: give one of init.model, init.checkpoint, init.random");
        if (random != null && random.hidden() % random.heads() != 0) {
            throw c.invalid("random.hidden", "(" + random.hidden() + ") must be a multiple of init.random.heads (" + random.heads() + ")");
        }
        return new InitConfig(model, tokenizer, checkpoint, random, hasPooling ? pooling : null, hasNormalize ? normalize : null);
    }
}
