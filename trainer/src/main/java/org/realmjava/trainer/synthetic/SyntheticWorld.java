package org.realmjava.trainer.synthetic;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;
import org.realmjava.mips.AtomicFiles;
import org.realmjava.trainer.corpus.Document;
import org.realmjava.trainer.pretrain.Probe;

/**
 * A synthetic world of invented people whose facts a model can learn only from its corpus: each
 * person has a birth year, a home town, a trade and a count of animals, stated in two corpus
 * blocks in different words (a biography and a register entry), beside distractor blocks about
 * the towns. Probes state one person's facts in a third wording that no corpus block uses, with
 * one fact to mask (the year, the town or the count) and the ids of the two blocks that state it.
 * Names are made from syllables, so no pre-trained model knows them: a model can fill in a probe
 * only by having memorised the fact in its weights or by fetching a block that states it.
 *
 * <p>Everything is a function of (seed, people): the same arguments give the same world.
 */
public final class SyntheticWorld {
    private static final String[] ONSETS = {"b", "br", "d", "dr", "f", "g", "gr", "h", "k", "kl", "l", "m", "n", "p", "pr", "r", "s", "st", "t", "tr",
        "v", "w", "z", "th", "sh"};
    private static final String[] VOWELS = {"a", "e", "i", "o", "u", "ai", "ei", "ou", "ia"};
    private static final String[] CODAS = {"", "", "n", "r", "l", "s", "th", "m", "v", "sk", "nd", "rt"};
    private static final String[] TOWN_ENDINGS = {"wick", "ford", "holm", "stead", "by", "mere", "ton", "dale", "haven", "gate"};
    private static final String[] TRADES = {"cooper", "weaver", "miller", "potter", "tanner", "mason", "baker", "smith", "carpenter", "chandler",
        "fletcher", "glazier", "thatcher", "brewer", "dyer", "saddler", "wheelwright", "ropemaker", "bookbinder", "shepherd"};
    private static final String[] ANIMALS = {"goats", "sheep", "geese", "hens", "cows", "pigs", "ducks", "horses"};
    private static final String[] RIVERS = {"river", "stream", "brook", "canal"};
    private static final String[] GOODS = {"mills", "markets", "bridges", "bells", "orchards", "quarries", "fairs", "looms"};

    /** One invented person's facts. */
    public record Person(String first, String last, int year, String town, String trade, int count, String animals) {
        public String name() {
            return first + " " + last;
        }
    }

    /** The corpus (biographies, registers, towns) and the probes, one per person. */
    public record World(List<Person> people, List<String> towns, List<Document> corpus, List<Probe> probes) {}

    /** The biography's wordings (corpus A). */
    private static final String[][] BIOGRAPHY = {
        {"%1$s was born in %3$d in %4$s.", "%2$s worked as a %5$s and kept %6$d %7$s."},
        {"%1$s was born in the town of %4$s in %3$d.", "By trade %2$s was a %5$s, and the household had %6$d %7$s."},
        {"In %3$d %1$s was born at %4$s.", "%2$s earned a living as a %5$s and owned %6$d %7$s."},
    };
    /** The register's wordings (corpus B): the same facts in other words. */
    private static final String[][] REGISTER = {
        {"The register of %4$s records the birth of %1$s in the year %3$d.", "It lists %2$s as a %5$s with %6$d %7$s on the holding."},
        {"Parish books from %4$s note that %1$s came into the world in %3$d.", "The same books count %6$d %7$s belonging to %2$s, a %5$s."},
        {"A census of %4$s gives %3$d as the birth year of %1$s.", "The census names %2$s a %5$s and counts %6$d %7$s."},
    };
    /** The probes' wording: in no corpus block. */
    private static final String[] PROBE = {
        "%1$s, a %5$s from %4$s born in %3$d, tended a flock of %6$d %7$s.",
        "Born in %3$d, the %5$s %1$s of %4$s looked after %6$d %7$s.",
    };

    private SyntheticWorld() {}

    /** A world of {@code people} persons (at least 4) and about a quarter as many towns. */
    public static World generate(int people, long seed) {
        if (people < 4) throw new IllegalArgumentException("a synthetic world needs at least 4 people, got " + people);
        SplittableRandom rng = new SplittableRandom(seed);
        Set<String> used = new HashSet<>();
        List<String> towns = new ArrayList<>();
        for (int i = 0; i < Math.max(3, people / 4); i++) towns.add(unique(used, () -> capital(word(rng, 2) + pick(rng, TOWN_ENDINGS))));
        List<Person> persons = new ArrayList<>();
        Set<String> names = new LinkedHashSet<>();
        while (persons.size() < people) {
            String first = capital(word(rng, 1 + rng.nextInt(2))), last = capital(word(rng, 2));
            // a surname of its own per person: the later sentences of a block name the person by it
            if (!names.add(last) || used.contains(last) || first.equals(last)) continue;
            persons.add(new Person(first, last, 1700 + rng.nextInt(250), pick(rng, towns), pick(rng, TRADES), 3 + rng.nextInt(95), pick(rng, ANIMALS)));
        }
        List<Document> corpus = new ArrayList<>();
        List<Probe> probes = new ArrayList<>();
        for (int i = 0; i < persons.size(); i++) {
            Person p = persons.get(i);
            String bioId = String.format(Locale.ROOT, "person-%04d-biography", i), regId = String.format(Locale.ROOT, "person-%04d-register", i);
            corpus.add(new Document(bioId, p.name(), state(BIOGRAPHY[rng.nextInt(BIOGRAPHY.length)], p)));
            corpus.add(new Document(regId, "Register of " + p.town(), state(REGISTER[rng.nextInt(REGISTER.length)], p)));
            String text = fill(PROBE[rng.nextInt(PROBE.length)], p);
            // the fact to mask: the first occurrence of its text must be the fact itself (a count of
            // 31 is not masked inside the year 1831), so try the three in a random order
            String[] facts = {Integer.toString(p.year()), p.town(), Integer.toString(p.count())};
            int first = rng.nextInt(3);
            String mask = null;
            for (int j = 0; j < 3 && mask == null; j++) {
                String f = facts[(first + j) % 3];
                if (standsAlone(text, text.indexOf(f), f.length())) mask = f;
            }
            probes.add(new Probe(text, mask, List.of(bioId, regId)));
        }
        for (int t = 0; t < towns.size(); t++) {
            String town = towns.get(t);
            corpus.add(new Document(String.format(Locale.ROOT, "town-%03d", t), town, String.format(Locale.ROOT,
                    "%s is a town on the %s %s. It is known for its %s and its %s.", town, capital(word(rng, 2)), pick(rng, RIVERS), pick(rng, GOODS),
                    pick(rng, GOODS))));
        }
        // a fixed order that interleaves the kinds of block (the corpus reader keeps it)
        java.util.Collections.shuffle(corpus, new java.util.Random(seed));
        return new World(List.copyOf(persons), List.copyOf(towns), List.copyOf(corpus), List.copyOf(probes));
    }

    /** Whether text[at, at + len) is a whole word (no letter or digit touching it). */
    static boolean standsAlone(String text, int at, int len) {
        boolean before = at == 0 || !Character.isLetterOrDigit(text.charAt(at - 1));
        boolean after = at + len == text.length() || !Character.isLetterOrDigit(text.charAt(at + len));
        return at >= 0 && before && after;
    }

    private static String state(String[] sentences, Person p) {
        StringBuilder sb = new StringBuilder();
        for (String s : sentences) sb.append(sb.isEmpty() ? "" : " ").append(fill(s, p));
        return sb.toString();
    }

    private static String fill(String template, Person p) {
        return String.format(Locale.ROOT, template, p.name(), p.last(), p.year(), p.town(), p.trade(), p.count(), p.animals());
    }

    private static String word(SplittableRandom rng, int syllables) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < syllables; i++) sb.append(pick(rng, ONSETS)).append(pick(rng, VOWELS)).append(i == syllables - 1 ? pick(rng, CODAS) : "");
        return sb.toString();
    }

    private static String unique(Set<String> used, java.util.function.Supplier<String> make) {
        for (int attempt = 0; attempt < 1000; attempt++) {
            String s = make.get();
            if (used.add(s)) return s;
        }
        throw new IllegalStateException("could not make a new name");
    }

    private static String capital(String s) {
        return Character.toUpperCase(s.charAt(0)) + s.substring(1);
    }

    private static <T> T pick(SplittableRandom rng, T[] from) {
        return from[rng.nextInt(from.length)];
    }

    private static <T> T pick(SplittableRandom rng, List<T> from) {
        return from.get(rng.nextInt(from.size()));
    }

    /** Writes corpus.jsonl ({"id", "title", "text"}) and probes.jsonl into dir, each atomically. */
    public static void write(World w, Path dir) throws IOException {
        Files.createDirectories(dir);
        ObjectMapper json = new ObjectMapper();
        StringBuilder corpus = new StringBuilder(), probes = new StringBuilder();
        for (Document d : w.corpus()) {
            ObjectNode n = json.createObjectNode().put("id", d.id()).put("title", d.title()).put("text", d.text());
            corpus.append(json.writeValueAsString(n)).append('\n');
        }
        for (Probe p : w.probes()) probes.append(p.toJson()).append('\n');
        AtomicFiles.write(dir.resolve("corpus.jsonl"), ByteBuffer.wrap(corpus.toString().getBytes(StandardCharsets.UTF_8)));
        AtomicFiles.write(dir.resolve("probes.jsonl"), ByteBuffer.wrap(probes.toString().getBytes(StandardCharsets.UTF_8)));
    }
}
