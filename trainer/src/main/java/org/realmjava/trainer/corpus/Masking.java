package org.realmjava.trainer.corpus;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.realmjava.transformer.tokenizer.Encoding;
import org.realmjava.transformer.tokenizer.WordPieceTokenizer;

/**
 * Builds masked queries from block sentences, three ways (REALM's masking ablation):
 * <ul>
 * <li>salient: one salient span, chosen uniformly among: dates ("4 July 1776", "July 1776"),
 *     years, numbers, capitalised multi-word spans ("Super Bowl", "University of Notre Dame"),
 *     and titles of corpus blocks found in the sentence (a word n-gram, n <= 4, equal to a title
 *     when lowercased). A sentence with no salient span falls back to a random span. REALM found
 *     the spans by a named-entity tagger and a date regex; the patterns here need no model.</li>
 * <li>random-span: 1 to 3 consecutive words.</li>
 * <li>random-token: each wordpiece with probability 0.15 (at least one), BERT's masking.</li>
 * </ul>
 * Every wordpiece overlapping the chosen span becomes [MASK]; spans over 10 wordpieces are not
 * chosen. Sentences of fewer than 4 wordpieces make no query.
 */
public final class Masking {
    public enum Strategy {
        SALIENT("salient"), RANDOM_SPAN("random-span"), RANDOM_TOKEN("random-token");

        public final String configName;

        Strategy(String configName) {
            this.configName = configName;
        }

        public static Strategy parse(String name) {
            for (Strategy s : values()) if (s.configName.equals(name)) return s;
            throw new IllegalArgumentException("unknown masking '" + name + "' (one of "
                    + Arrays.stream(values()).map(s -> s.configName).collect(Collectors.joining(", ")) + ")");
        }
    }

    static final int MIN_QUERY_TOKENS = 4, MAX_SPAN_TOKENS = 10, MAX_TITLE_WORDS = 4;
    static final double TOKEN_RATE = 0.15;

    private static final String MONTH = "(?:January|February|March|April|May|June|July|August|September|October|November|December)";
    private static final Pattern DATE = Pattern.compile("\\b(?:" + MONTH + "\\s+\\d{1,2}(?:st|nd|rd|th)?(?:,\\s*\\d{4})?|\\d{1,2}\\s+" + MONTH
            + "(?:\\s+\\d{4})?|" + MONTH + "\\s+\\d{4})\\b");
    private static final Pattern YEAR = Pattern.compile("\\b(?:1[0-9]{3}|20[0-9]{2})s?\\b");
    private static final Pattern NUMBER = Pattern.compile("\\b\\d+(?:[.,]\\d+)*\\b");
    private static final Pattern CAPITALISED = Pattern.compile(
            "\\b\\p{Lu}[\\p{L}'\u2019-]*(?:\\s+(?:(?:of|the|de|du|la|von|van|and|for|in)\\s+)*\\p{Lu}[\\p{L}'\u2019-]*)+");
    private static final Pattern WORD = Pattern.compile("[\\p{L}\\p{N}][\\p{L}\\p{N}'\u2019-]*");
    private static final Set<String> STOPWORDS = Set.of("the", "and", "for", "are", "but", "not", "you", "all", "any", "can", "her", "was",
            "one", "our", "out", "has", "his", "how", "its", "who", "why", "with", "from", "that", "this", "which", "they", "them", "into",
            "used", "also", "than", "then", "there", "their", "other", "some", "such", "when", "where", "what", "been", "being", "have",
            "were", "will", "would", "more", "most", "made", "make", "part", "form", "kind", "type", "person", "act", "state", "thing");

    private final WordPieceTokenizer tokenizer;
    private final Strategy strategy;
    private final int queryLength;
    private final Set<String> titles;
    private final int maskId;

    /** Where a query's text comes from: its sentence alone, or its sentence with the block's neighbouring sentences. */
    public enum Context {
        SENTENCE("sentence"), BLOCK("block");

        public final String configName;

        Context(String configName) {
            this.configName = configName;
        }
    }

    private final Context context;

    /** titles: the corpus's block titles (lowercased here; short ones and stopwords are dropped). */
    public Masking(WordPieceTokenizer tokenizer, Strategy strategy, int queryLength, Collection<String> titles) {
        this(tokenizer, strategy, queryLength, titles, Context.SENTENCE);
    }

    /**
     * context BLOCK: a query is its sentence with the sentences after it, then before it, in its
     * block, as many whole ones as fit query_len; the masked span is still chosen in the sentence.
     * A query then holds other facts of its block beside the masked one, so the reader must tell
     * which of a block's facts is asked from the words around the mask, not from which sentence
     * the query is (a one-fact sentence says "the year" by its other words alone).
     */
    public Masking(WordPieceTokenizer tokenizer, Strategy strategy, int queryLength, Collection<String> titles, Context context) {
        this.context = context;
        if (queryLength < MIN_QUERY_TOKENS + 2) throw new IllegalArgumentException("query_len must be at least " + (MIN_QUERY_TOKENS + 2) + ", got " + queryLength);
        this.tokenizer = tokenizer;
        this.strategy = strategy;
        this.queryLength = queryLength;
        this.maskId = tokenizer.tokenId("[MASK]");
        if (maskId < 0) throw new IllegalArgumentException("the tokenizer has no [MASK] token");
        this.titles = new HashSet<>();
        for (String t : titles) {
            String l = t.toLowerCase(Locale.ROOT).strip();
            if (l.length() >= 3 && !STOPWORDS.contains(l) && l.split("\\s+").length <= MAX_TITLE_WORDS) this.titles.add(l);
        }
    }

    public Strategy strategy() {
        return strategy;
    }

    /** The masked query of sentence s of block b, or null when the sentence is too short to make one. */
    public MaskedQuery mask(Block b, int s, SplittableRandom rng) {
        String sentence = b.sentence(s), text = sentence;
        int shift = 0; // where the sentence starts in the query's text
        if (context == Context.BLOCK) {
            int first = s, last = s;
            while (last + 1 < b.sentences() && fits(b, first, last + 1)) last++;
            while (first > 0 && fits(b, first - 1, last)) first--;
            text = b.text().substring(b.sentenceStarts()[first], b.sentenceEnds()[last]);
            shift = b.sentenceStarts()[s] - b.sentenceStarts()[first];
        }
        Encoding enc = tokenizer.encode(text, null, queryLength, WordPieceTokenizer.Truncation.LONGEST_FIRST);
        int real = enc.length() - 2;
        if (real < MIN_QUERY_TOKENS) return null;
        boolean[] masked = new boolean[enc.length()];
        String what;
        if (strategy == Strategy.RANDOM_TOKEN) {
            for (int p = 1; p <= real; p++) masked[p] = rng.nextDouble() < TOKEN_RATE;
            masked[1 + rng.nextInt(real)] = true;
            what = null;
        } else {
            int[] span = strategy == Strategy.SALIENT ? salientSpan(sentence, shift, enc, rng) : null;
            if (span == null) span = randomWordSpan(sentence, shift, enc, rng);
            if (span == null) return null;
            for (int p = 1; p <= real; p++) masked[p] = overlaps(enc, p, span);
            what = text.substring(span[0], span[1]);
        }
        int count = 0;
        for (boolean m : masked) if (m) count++;
        int[] ids = enc.ids().clone(), positions = new int[count], targets = new int[count];
        StringBuilder pieces = what == null ? new StringBuilder() : null;
        for (int p = 0, i = 0; p < masked.length; p++) {
            if (!masked[p]) continue;
            positions[i] = p;
            targets[i++] = ids[p];
            ids[p] = maskId;
            if (pieces != null) pieces.append(pieces.isEmpty() ? "" : " ").append(enc.tokens()[p]);
        }
        return new MaskedQuery(b.index(), s, ids, positions, targets, what != null ? what : pieces.toString());
    }

    private static boolean overlaps(Encoding enc, int p, int[] span) {
        return enc.offsetStarts()[p] < span[1] && enc.offsetEnds()[p] > span[0];
    }

    /** Wordpieces of the query that overlap span; 0 when the span was cut off by truncation. */
    private static int tokensIn(Encoding enc, int[] span) {
        int n = 0;
        for (int p = 1; p < enc.length() - 1; p++) if (overlaps(enc, p, span)) n++;
        return n;
    }

    /** Every salient span of the sentence ([start, end) character ranges), in order of discovery. */
    public List<int[]> salientSpans(String sentence) {
        List<int[]> out = new ArrayList<>();
        for (Pattern p : new Pattern[] {DATE, YEAR, NUMBER, CAPITALISED}) {
            Matcher m = p.matcher(sentence);
            while (m.find()) out.add(new int[] {m.start(), m.end()});
        }
        List<int[]> words = new ArrayList<>();
        Matcher w = WORD.matcher(sentence);
        while (w.find()) words.add(new int[] {w.start(), w.end()});
        for (int i = 0; i < words.size(); i++) {
            for (int n = 1; n <= MAX_TITLE_WORDS && i + n <= words.size(); n++) {
                int start = words.get(i)[0], end = words.get(i + n - 1)[1];
                String gram = sentence.substring(start, end).toLowerCase(Locale.ROOT).replaceAll("\\s+", " ");
                if (titles.contains(gram)) out.add(new int[] {start, end});
            }
        }
        return out;
    }

    /** Sentences first..last of b as one text, within query_len wordpieces with [CLS] and [SEP]. */
    private boolean fits(Block b, int first, int last) {
        String t = b.text().substring(b.sentenceStarts()[first], b.sentenceEnds()[last]);
        return tokenizer.encode(t, null, queryLength + 1, WordPieceTokenizer.Truncation.LONGEST_FIRST).length() <= queryLength;
    }

    /** A salient span of the sentence, as a range of the query's text (the sentence starts at shift in it). */
    private int[] salientSpan(String sentence, int shift, Encoding enc, SplittableRandom rng) {
        List<int[]> usable = new ArrayList<>();
        for (int[] found : salientSpans(sentence)) {
            int[] s = {found[0] + shift, found[1] + shift};
            int n = tokensIn(enc, s);
            // a span that is the whole sentence leaves nothing to read it from
            if (n > 0 && n <= MAX_SPAN_TOKENS && n < enc.length() - 2) usable.add(s);
        }
        return usable.isEmpty() ? null : usable.get(rng.nextInt(usable.size()));
    }

    private static int[] randomWordSpan(String sentence, int shift, Encoding enc, SplittableRandom rng) {
        List<int[]> words = new ArrayList<>();
        Matcher w = WORD.matcher(sentence);
        while (w.find()) if (tokensIn(enc, new int[] {w.start() + shift, w.end() + shift}) > 0) words.add(new int[] {w.start() + shift, w.end() + shift});
        if (words.size() < 2) return null;
        for (int attempt = 0; attempt < 8; attempt++) {
            int len = 1 + rng.nextInt(Math.min(3, words.size() - 1));
            int first = rng.nextInt(words.size() - len + 1);
            int[] span = {words.get(first)[0], words.get(first + len - 1)[1]};
            if (tokensIn(enc, span) <= MAX_SPAN_TOKENS) return span;
        }
        // very long words: any single word that fits (the same answer for every rng, so a sentence
        // that makes a query once always does)
        for (int[] word : words) if (tokensIn(enc, word) <= MAX_SPAN_TOKENS) return word;
        return null;
    }
}
