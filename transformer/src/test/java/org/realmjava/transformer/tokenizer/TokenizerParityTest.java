package org.realmjava.transformer.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.CharSpan;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.realmjava.transformer.TestData;
import org.realmjava.transformer.WordNetTexts;

/**
 * Our WordPiece tokenizer against the Hugging Face tokenizers library (through DJL, test scope
 * only): identical ids and character offsets on real texts (SQuAD paragraphs and questions, every
 * WordNet 3.1 gloss) and hand-made hard cases. Offsets are compared in code points, the unit the library reports.
 */
class TokenizerParityTest {
    static Path tokenizerJson;
    static WordPieceTokenizer ours;
    static HuggingFaceTokenizer oracle;
    static HuggingFaceTokenizer oraclePairs;

    @BeforeAll
    static void load() throws Exception {
        tokenizerJson = TestData.resourceFile("all-minilm-l6-v2-tokenizer.json");
        ours = WordPieceTokenizer.load(tokenizerJson);
        oracle = HuggingFaceTokenizer.builder().optTokenizerPath(tokenizerJson).optTruncation(false).optPadding(false)
                .optAddSpecialTokens(true).build();
        oraclePairs = HuggingFaceTokenizer.builder().optTokenizerPath(tokenizerJson).optTruncation(true).optMaxLength(64)
                .optPadding(false).optAddSpecialTokens(true).build();
    }

    @AfterAll
    static void close() {
        oracle.close();
        oraclePairs.close();
    }

    static final String[] HARD = {
        "", " ", "   \t\n  ", "Hello, world!", "Café Zoë naïve résumé", "ÅNGSTRÖM façade coöperate", "e\u0301 vs \u00e9",
        "日本語のテキスト and 中文字符", "한국어 텍스트", "ｆｕｌｌｗｉｄｔｈ", "Σίσυφος ΣΑΣ όλα", "İstanbul ıi", "straße STRASSE",
        "emoji 🙂👍🏽 🥰 🤖 family 👨‍👩‍👧", "control\u0000chars\u0007here\u001b[0m", "zero\u200bwidth\u200djoiner\ufeffbom",
        "nbsp\u00a0here and\u2003em space", "line\u2028separator\u2029para", "tab\tnew\nline\rreturn",
        "a".repeat(99), "a".repeat(100), "a".repeat(101), "supercalifragilisticexpialidocious".repeat(4),
        "[CLS] literal [SEP] and [MASK] tokens [PAD] [UNK]", "[cls] lowercase [mask]", "x² ≥ ∑ ∫ √ ∞ ≠ ±", "‘quotes’ “double” — dashes… «guillemets»",
        "3.14159 1,000,000 $5.00 50% #hashtag @user a+b=c <tag> ^caret `tick` |pipe| ~tilde", "don't won't it's o'clock",
        // (an unpaired surrogate is left out: it cannot cross into the Rust library unchanged, so both would not see one text)
        "private\ue000use \uf8ff area", "Ελληνικά Русский العربية עברית हिन्दी ไทย", "ℌ𝔢𝔩𝔩𝔬 𝐁𝐨𝐥𝐝", "ﬁ ligature ﬀ", "Ⅻ Ⅷ ① ②",
        "\u0301combining at start", "ab\u0300\u0301\u0302cd", "U.S.A. e.g. i.e.", "http://example.com/path?x=1&y=2",
    };

    @Test
    void hardCases() {
        List<String> failures = new ArrayList<>();
        for (String s : HARD) compare(s, failures);
        if (!failures.isEmpty()) fail(failures.size() + " hard cases differ:\n" + String.join("\n", failures));
    }

    @Test
    void squadParagraphsAndQuestions() throws Exception {
        Path data = TestData.sharedData();
        org.junit.jupiter.api.Assumptions.assumeTrue(data != null && Files.exists(data.resolve("squad/dev-v1.1.json")),
                "skipped: ../shared/data/squad/dev-v1.1.json is absent");
        List<String> texts = new ArrayList<>();
        JsonNode root = new ObjectMapper().readTree(data.resolve("squad/dev-v1.1.json").toFile());
        for (JsonNode article : root.path("data")) {
            texts.add(article.path("title").asText());
            for (JsonNode para : article.path("paragraphs")) {
                texts.add(para.path("context").asText());
                for (JsonNode qa : para.path("qas")) texts.add(qa.path("question").asText());
            }
        }
        assertTrue(texts.size() >= 10_000, "expected at least 10,000 SQuAD texts, found " + texts.size());
        List<String> failures = new ArrayList<>();
        for (String t : texts) compare(t, failures);
        System.out.printf("tokenizer parity: %d SQuAD texts, %d differ%n", texts.size(), failures.size());
        // throughput, reported (not asserted: timings do not belong in unit tests); best of 3 passes
        double best = Double.MAX_VALUE;
        long tokens = 0;
        for (int pass = 0; pass < 3; pass++) {
            long t0 = System.nanoTime();
            tokens = 0;
            for (String t : texts) tokens += ours.encode(t).length();
            best = Math.min(best, (System.nanoTime() - t0) / 1e9);
        }
        System.out.printf("tokenizer throughput (1 thread): %.0f texts/s, %.0f tokens/s%n", texts.size() / best, tokens / best);
        if (!failures.isEmpty()) fail(failures.size() + " of " + texts.size() + " differ; first: " + failures.get(0));
    }

    @Test
    void wordNetGlosses() {
        org.junit.jupiter.api.Assumptions.assumeTrue(WordNetTexts.available(), "skipped: WordNet 3.1 data jar is not on the class path");
        List<String> texts = new ArrayList<>();
        for (String file : WordNetTexts.FILES) texts.addAll(WordNetTexts.read(file));
        assertTrue(texts.size() >= 100_000, "expected the ~117k WordNet synsets, found " + texts.size());
        List<String> failures = new ArrayList<>();
        for (String t : texts) compare(t, failures);
        System.out.printf("tokenizer parity: %d WordNet glosses, %d differ%n", texts.size(), failures.size());
        if (!failures.isEmpty()) fail(failures.size() + " of " + texts.size() + " differ; first: " + failures.get(0));
    }

    @Test
    void pairsWithLongestFirstTruncation() {
        String q = "Which NFL team represented the AFC at Super Bowl 50?";
        String c = "Super Bowl 50 was an American football game to determine the champion of the National Football League (NFL) "
                + "for the 2015 season. The American Football Conference (AFC) champion Denver Broncos defeated the National "
                + "Football Conference (NFC) champion Carolina Panthers 24–10 to earn their third Super Bowl title.";
        for (String[] pair : new String[][] {{q, c}, {c, q}, {q, "short"}, {"", c}}) {
            Encoding e = ours.encode(pair[0], pair[1], 64, WordPieceTokenizer.Truncation.LONGEST_FIRST);
            ai.djl.huggingface.tokenizers.Encoding o = oraclePairs.encode(pair[0], pair[1]);
            assertEquals(asList(o.getIds()), asList(e.ids()), "pair ids for " + pair[0].length() + "/" + pair[1].length());
            assertEquals(asList(o.getTypeIds()), asList(e.typeIds()), "pair type ids");
        }
    }

    private static List<Long> asList(long[] a) {
        List<Long> l = new ArrayList<>();
        for (long x : a) l.add(x);
        return l;
    }

    private static List<Long> asList(int[] a) {
        List<Long> l = new ArrayList<>();
        for (int x : a) l.add((long) x);
        return l;
    }

    private static void compare(String text, List<String> failures) {
        compare(ours, oracle, text, failures);
    }

    /** Ids, then offsets (in code points), of one text through both tokenizers; a difference is added to failures. */
    static void compare(WordPieceTokenizer ours, HuggingFaceTokenizer oracle, String text, List<String> failures) {
        Encoding e = ours.encode(text);
        ai.djl.huggingface.tokenizers.Encoding o = oracle.encode(text);
        if (!asList(o.getIds()).equals(asList(e.ids()))) {
            failures.add("ids differ for " + show(text) + "\n  hf:   " + List.of(o.getTokens()) + "\n  ours: " + List.of(e.tokens()));
            return;
        }
        CharSpan[] spans = o.getCharTokenSpans();
        for (int i = 0; i < e.length(); i++) {
            if (e.sequenceIds()[i] < 0 || spans[i] == null) continue;
            int s = text.codePointCount(0, e.offsetStarts()[i]), en = text.codePointCount(0, e.offsetEnds()[i]);
            if (s != spans[i].getStart() || en != spans[i].getEnd()) {
                failures.add("offsets differ for " + show(text) + " token " + i + " '" + e.tokens()[i] + "': hf [" + spans[i].getStart()
                        + ", " + spans[i].getEnd() + ") ours [" + s + ", " + en + ")");
                return;
            }
        }
    }

    static String show(String s) {
        StringBuilder b = new StringBuilder("\"");
        s.codePoints().limit(80).forEach(c -> {
            if (c < 32 || (c >= 0x7f && c < 0xa0) || c == 0x200b || c == 0x200d || c == 0xfeff) b.append(String.format("\\u%04x", c));
            else b.appendCodePoint(c);
        });
        return b.append('"').toString();
    }
}
