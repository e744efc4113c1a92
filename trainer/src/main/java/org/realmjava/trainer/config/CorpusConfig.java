package org.realmjava.trainer.config;

import java.nio.file.Path;
import org.realmjava.trainer.corpus.CorpusFormat;

/** corpus {path, format, limit}: format defaults from the file's extension; wordnet needs no path. */
public record CorpusConfig(Path path, CorpusFormat format, int limit) {
    public static CorpusConfig read(ConfigReader c, ConfigReader parent) {
        if (c == null) throw parent.invalid("corpus", "is missing (e.g. {\"format\": \"wordnet\", \"limit\": 2000} or {\"path\": \"docs.jsonl\"})");
        Path path = c.path("path");
        String f = c.string("format", null);
        CorpusFormat format;
        try {
            format = f != null ? CorpusFormat.parse(f) : path == null ? null : CorpusFormat.guess(path);
        } catch (IllegalArgumentException e) {
            throw c.invalid("format", e.getMessage().replace("unknown corpus format ", "is "));
        }
        if (format == null) throw c.invalid("format", "is needed (jsonl, dpr-tsv, squad or wordnet): the file name does not say");
        if (format != CorpusFormat.WORDNET && path == null) throw c.invalid("path", "is needed for format " + format.configName);
        return new CorpusConfig(path, format, c.integer("limit", 0, 0));
    }
}
