package org.realmjava.trainer.eval;

import java.text.Normalizer;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The SQuAD answer normalisation (the official evaluation script's normalize_answer): lowercase,
 * drop ASCII punctuation, drop the articles a/an/the as words, collapse whitespace. Exact match
 * compares normalised strings; "a block contains an answer" means the normalised answer occurs in
 * the normalised block as whole words.
 */
public final class AnswerNormalizer {
    private static final Pattern PUNCT = Pattern.compile("[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~]");
    private static final Pattern ARTICLES = Pattern.compile("\\b(a|an|the)\\b");
    private static final Pattern SPACE = Pattern.compile("\\s+");

    private AnswerNormalizer() {}

    public static String normalize(String s) {
        String t = s.toLowerCase(Locale.ROOT);
        t = PUNCT.matcher(t).replaceAll("");
        t = ARTICLES.matcher(t).replaceAll(" ");
        return SPACE.matcher(t).replaceAll(" ").strip();
    }

    /** True when normalised answer occurs in normalised text as whole words (both already normalised). */
    public static boolean containsWords(String normalizedText, String normalizedAnswer) {
        if (normalizedAnswer.isEmpty()) return false;
        return (" " + normalizedText + " ").contains(" " + normalizedAnswer + " ");
    }

    /** Unicode-normalised (NFKC) input first: the same answer written with other code points matches. */
    public static String normalizeUnicode(String s) {
        return normalize(Normalizer.normalize(s, Normalizer.Form.NFKC));
    }
}
