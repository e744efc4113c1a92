package org.realmjava.trainer.corpus;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;

/** The corpus formats the engine reads, with the names configs use. */
public enum CorpusFormat {
    /** JSON lines {"id", "title", "text"} (id and title optional). */
    JSONL("jsonl"),
    /** DPR's passage file: a tab-separated id, text, title per line, an optional header line. */
    DPR_TSV("dpr-tsv"),
    /** SQuAD JSON: every paragraph of every article (the article title as the title). Experiments only. */
    SQUAD("squad"),
    /** The built-in WordNet 3.1 noun glosses (first lemma as the title); needs no file. */
    WORDNET("wordnet");

    public final String configName;

    CorpusFormat(String configName) {
        this.configName = configName;
    }

    public static CorpusFormat parse(String name) {
        for (CorpusFormat f : values()) if (f.configName.equals(name)) return f;
        throw new IllegalArgumentException("unknown corpus format '" + name + "' (one of "
                + Arrays.stream(values()).map(f -> f.configName).collect(Collectors.joining(", ")) + ")");
    }

    /** The format a file name suggests (.jsonl, .tsv, .json), or null. */
    public static CorpusFormat guess(Path file) {
        String n = file.getFileName().toString().toLowerCase();
        if (n.endsWith(".jsonl")) return JSONL;
        if (n.endsWith(".tsv")) return DPR_TSV;
        if (n.endsWith(".json")) return SQUAD;
        return null;
    }
}
