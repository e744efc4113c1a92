package org.realmjava.transformer.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.realmjava.transformer.TestData;
import org.realmjava.transformer.WordNetTexts;

/**
 * The tokenizer under configurations other models ship, not only the default model's: each case
 * edits the default tokenizer.json the way another BERT-family tokenizer differs (cased, accents
 * kept while lowercasing, accents stripped without lowercasing, CJK splitting and control-char
 * cleaning off, a short max_input_chars_per_word, other special tokens), and the Hugging Face
 * library loading the same edited file is the oracle: identical ids and offsets.
 */
class TokenizerVariantsParityTest {
    @TempDir static Path dir;

    static Stream<Arguments> variants() {
        return Stream.of(
                variant("cased", j -> normalizer(j).put("lowercase", false)),
                variant("lowercase_keep_accents", j -> normalizer(j).put("strip_accents", false)),
                variant("cased_strip_accents", j -> normalizer(j).put("lowercase", false).put("strip_accents", true)),
                variant("no_cjk_no_clean", j -> normalizer(j).put("handle_chinese_chars", false).put("clean_text", false)),
                variant("short_words", j -> ((ObjectNode) j.get("model")).put("max_input_chars_per_word", 12)),
                variant("bert_processing", j -> j.set("post_processor", new ObjectMapper().createObjectNode().put("type", "BertProcessing")
                        .<ObjectNode>set("sep", new ObjectMapper().createArrayNode().add("[SEP]").add(102))
                        .set("cls", new ObjectMapper().createArrayNode().add("[CLS]").add(101)))));
    }

    private static Arguments variant(String name, Consumer<ObjectNode> edit) {
        return Arguments.of(name, edit);
    }

    private static ObjectNode normalizer(ObjectNode root) {
        return (ObjectNode) root.get("normalizer");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void idsAndOffsetsMatchTheLibrary(String name, Consumer<ObjectNode> edit) throws Exception {
        ObjectMapper om = new ObjectMapper();
        ObjectNode root = (ObjectNode) om.readTree(TestData.resourceFile("all-minilm-l6-v2-tokenizer.json").toFile());
        edit.accept(root);
        Path file = dir.resolve(name + ".json");
        Files.writeString(file, om.writeValueAsString(root));
        WordPieceTokenizer ours = WordPieceTokenizer.load(file);
        List<String> texts = new ArrayList<>(List.of(TokenizerParityTest.HARD));
        texts.add("Mixed CASE Words with Ünïcödé ÀÉÎÕÜ and 漢字かな交じり文 plus\u0007bell and\u0000nul");
        texts.add("averyveryverylongword shortish medium-length hyphenated-words");
        if (WordNetTexts.available()) {
            int n = 0;
            for (String t : WordNetTexts.read("data.noun")) {
                if (n++ % 40 == 0) texts.add(t);
            }
        }
        List<String> failures = new ArrayList<>();
        try (HuggingFaceTokenizer oracle = HuggingFaceTokenizer.builder().optTokenizerPath(file).optTruncation(false).optPadding(false)
                .optAddSpecialTokens(true).build()) {
            for (String t : texts) TokenizerParityTest.compare(ours, oracle, t, failures);
            // a sentence pair: type ids and the special tokens the post-processor places
            Encoding e = ours.encode("First Sentence, Here.", "Second ONE", 64, WordPieceTokenizer.Truncation.LONGEST_FIRST);
            ai.djl.huggingface.tokenizers.Encoding o = oracle.encode("First Sentence, Here.", "Second ONE");
            assertEquals(java.util.Arrays.toString(o.getIds()), java.util.Arrays.toString(java.util.Arrays.stream(e.ids()).asLongStream().toArray()), name + ": pair ids");
            assertEquals(java.util.Arrays.toString(o.getTypeIds()), java.util.Arrays.toString(java.util.Arrays.stream(e.typeIds()).asLongStream().toArray()), name + ": pair type ids");
        }
        System.out.printf("tokenizer variant %s: %d texts, %d differ%n", name, texts.size(), failures.size());
        if (!failures.isEmpty()) fail(name + ": " + failures.size() + " of " + texts.size() + " differ; first: " + failures.get(0));
    }
}
