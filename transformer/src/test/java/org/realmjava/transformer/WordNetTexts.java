package org.realmjava.transformer;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Texts for tokenizer tests from the WordNet 3.1 data jar (test scope): "first lemma. gloss" per
 * synset line. The product's corpus reader is the trainer's WordNetGlosses; this only needs text.
 */
public final class WordNetTexts {
    private static final String ROOT = "net/sf/extjwnl/data/wordnet/wn31/";
    public static final String[] FILES = {"data.noun", "data.verb", "data.adj", "data.adv"};

    private WordNetTexts() {}

    public static boolean available() {
        return WordNetTexts.class.getClassLoader().getResource(ROOT + FILES[0]) != null;
    }

    public static List<String> read(String file) {
        List<String> out = new ArrayList<>();
        InputStream in = WordNetTexts.class.getClassLoader().getResourceAsStream(ROOT + file);
        if (in == null) throw new IllegalStateException("WordNet data file " + file + " is not on the class path");
        try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                int bar = line.indexOf(" | ");
                if (line.startsWith("  ") || bar < 0) continue;
                String[] f = line.substring(0, bar).split(" ");
                String lemma = f[4].replaceAll("\\(.*\\)$", "").replace('_', ' ');
                out.add(lemma + ". " + line.substring(bar + 3).trim());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }
}
