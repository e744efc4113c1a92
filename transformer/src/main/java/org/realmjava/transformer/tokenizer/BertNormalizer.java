package org.realmjava.transformer.tokenizer;

import java.text.Normalizer;
import java.util.Locale;

/**
 * The BERT normalizer, as the Hugging Face tokenizers library defines it, each step switchable as
 * tokenizer.json configures: clean text (drop NUL, U+FFFD and control characters; whitespace
 * becomes a space), pad CJK ideographs with spaces, strip accents (NFD, then drop non-spacing
 * marks; by default only when lowercasing), lowercase. Every output character remembers the
 * range of the original text it came from, so tokens can be mapped back to the input.
 */
public record BertNormalizer(boolean cleanText, boolean handleChineseChars, boolean stripAccents, boolean lowercase) {

    /** Normalized text: code points plus, for each, its source range [start, end) in UTF-16 units. */
    public record Normalized(int[] codePoints, int[] starts, int[] ends, int length) {}

    public Normalized normalize(String text, int from, int to) {
        int cap = Math.max(16, (to - from) * 2);
        int[] cps = new int[cap], st = new int[cap], en = new int[cap];
        int n = 0;
        for (int i = from; i < to; ) {
            int cp = text.codePointAt(i);
            int next = i + Character.charCount(cp);
            String out;
            if (cleanText && (cp == 0 || cp == 0xFFFD || Chars.isControl(cp))) {
                i = next;
                continue;
            }
            if (cleanText && Chars.isBertWhitespace(cp)) cp = ' ';
            if (handleChineseChars && Chars.isChineseChar(cp)) {
                out = " " + new String(Character.toChars(cp)) + " ";
            } else {
                out = new String(Character.toChars(cp));
            }
            if (stripAccents) {
                String nfd = Normalizer.normalize(out, Normalizer.Form.NFD);
                StringBuilder kept = new StringBuilder(nfd.length());
                nfd.codePoints().filter(c -> Character.getType(c) != Character.NON_SPACING_MARK).forEach(kept::appendCodePoint);
                out = kept.toString();
            }
            if (lowercase) out = out.toLowerCase(Locale.ROOT);
            for (int k = 0; k < out.length(); ) {
                int c = out.codePointAt(k);
                k += Character.charCount(c);
                if (n == cps.length) {
                    cps = java.util.Arrays.copyOf(cps, n * 2);
                    st = java.util.Arrays.copyOf(st, n * 2);
                    en = java.util.Arrays.copyOf(en, n * 2);
                }
                cps[n] = c;
                st[n] = i;
                en[n] = next;
                n++;
            }
            i = next;
        }
        return new Normalized(cps, st, en, n);
    }
}
