package org.realmjava.trainer.corpus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.realmjava.trainer.model.DefaultModel;
import org.realmjava.transformer.tokenizer.WordPieceTokenizer;

/** Corpus readers, block splitting and masking. */
class CorpusTest {
    @TempDir
    Path dir;

    static WordPieceTokenizer tokenizer() throws IOException {
        return WordPieceTokenizer.load(DefaultModel.file(DefaultModel.TOKENIZER));
    }

    @Test
    void readsJsonLinesTsvAndSquad() throws IOException {
        Path jsonl = dir.resolve("c.jsonl");
        Files.writeString(jsonl, "{\"id\": \"a\", \"title\": \"Alpha\", \"text\": \"First text.\"}\n\n{\"text\": \"No id or title.\"}\n");
        List<Document> d = CorpusReader.read(jsonl, CorpusFormat.JSONL, 0);
        assertEquals(List.of(new Document("a", "Alpha", "First text."), new Document("3", "", "No id or title.")), d);

        Path tsv = dir.resolve("psgs.tsv");
        Files.writeString(tsv, "id\ttext\ttitle\n1\t\"He said \"\"hi\"\".\"\tGreeting\n2\tPlain text\tTwo\n");
        List<Document> t = CorpusReader.read(tsv, CorpusFormat.DPR_TSV, 0);
        assertEquals(new Document("1", "Greeting", "He said \"hi\"."), t.get(0));
        assertEquals(2, t.size());
        assertEquals(1, CorpusReader.read(tsv, CorpusFormat.DPR_TSV, 1).size(), "limit");

        Path squad = dir.resolve("s.json");
        Files.writeString(squad, "{\"data\": [{\"title\": \"Super_Bowl_50\", \"paragraphs\": [{\"context\": \"P one.\", \"qas\": []}, {\"context\": \"P two.\"}]}]}");
        List<Document> s = CorpusReader.read(squad, CorpusFormat.SQUAD, 0);
        assertEquals(new Document("0/1", "Super Bowl 50", "P two."), s.get(1));
    }

    @Test
    void badCorporaNameTheFileAndLine() throws IOException {
        Path bad = dir.resolve("bad.jsonl");
        Files.writeString(bad, "{\"text\": \"ok\"}\n{\"text\": \"ok\"}\n{not json\n");
        var e = assertThrows(CorpusException.class, () -> CorpusReader.read(bad, CorpusFormat.JSONL, 0));
        assertTrue(e.getMessage().startsWith(bad + ":3: not a JSON object"), e.getMessage());

        Path noText = dir.resolve("notext.jsonl");
        Files.writeString(noText, "{\"title\": \"x\"}\n");
        assertTrue(assertThrows(CorpusException.class, () -> CorpusReader.read(noText, CorpusFormat.JSONL, 0)).getMessage().contains(":1: no \"text\""));

        Path latin1 = dir.resolve("latin1.jsonl");
        Files.write(latin1, new byte[] {'{', '"', 't', 'e', 'x', 't', '"', ':', '"', 'o', 'k', '"', '}', '\n', '{', '"', 't', 'e', 'x', 't', '"', ':', '"', (byte) 0xE9, '"', '}', '\n'});
        assertEquals(latin1 + ":2: not UTF-8 text", assertThrows(CorpusException.class, () -> CorpusReader.read(latin1, CorpusFormat.JSONL, 0)).getMessage());

        Path empty = dir.resolve("empty.jsonl");
        Files.writeString(empty, "\n\n");
        assertEquals("corpus " + empty + ": no documents", assertThrows(CorpusException.class, () -> CorpusReader.read(empty, CorpusFormat.JSONL, 0)).getMessage());
        assertTrue(assertThrows(CorpusException.class, () -> CorpusReader.read(dir, CorpusFormat.JSONL, 0)).getMessage().contains("is a directory"));
        assertTrue(assertThrows(CorpusException.class, () -> CorpusReader.read(dir.resolve("nope.jsonl"), CorpusFormat.JSONL, 0)).getMessage().contains("no such file"));
        Path tsv = dir.resolve("bad.tsv");
        Files.writeString(tsv, "1\tonly two\n2\n");
        assertTrue(assertThrows(CorpusException.class, () -> CorpusReader.read(tsv, CorpusFormat.DPR_TSV, 0)).getMessage().contains(":2: expected id"));
    }

    @Test
    void wordnetGlossesAreTheBuiltInCorpus() {
        List<Document> d = CorpusReader.read(null, CorpusFormat.WORDNET, 500);
        assertEquals(500, d.size());
        assertTrue(d.stream().allMatch(x -> !x.text().isBlank() && !x.title().isBlank()));
    }

    @Test
    void blocksKeepExactTextWholeSentencesAndTheLengthLimit() throws IOException {
        WordPieceTokenizer tok = tokenizer();
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 40; i++) text.append("Sentence number ").append(i).append(" talks about the Hudson River in ").append(1900 + i).append(". ");
        text.append("A".repeat(3)).append(" final ").append("verylongword ".repeat(120)).append("end.");
        Document doc = new Document("d", "Rivers of New York", text.toString().strip());
        int blockLen = 64;
        List<Block> blocks = new BlockSplitter(tok, blockLen).split(List.of(doc));
        assertTrue(blocks.size() > 5, "expected several blocks, got " + blocks.size());
        for (Block b : blocks) {
            assertTrue(doc.text().contains(b.text()), "block text is a substring of the document");
            int len = tok.encode(b.title(), b.text(), 0, WordPieceTokenizer.Truncation.NONE).length();
            assertTrue(len <= blockLen, "block " + b.index() + " has " + len + " wordpieces with its title");
            assertEquals(Block.hash(b.title(), b.text()), b.hash());
            for (int s = 0; s < b.sentences(); s++) assertFalse(b.sentence(s).isBlank());
        }
        // blocks of whole sentences end at a sentence end (except pieces of the over-long sentence)
        assertTrue(blocks.get(0).text().endsWith("."), blocks.get(0).text());
        assertEquals(blocks.size(), blocks.stream().mapToInt(Block::index).distinct().count());
    }

    @Test
    void salientSpansFindDatesYearsNumbersNamesAndTitles() throws IOException {
        Masking m = new Masking(tokenizer(), Masking.Strategy.SALIENT, 96, List.of("Hudson River", "otter", "the"));
        String s = "On 4 July 1776 the Continental Congress met, and 13 colonies saw the Hudson River and an otter.";
        List<String> spans = m.salientSpans(s).stream().map(r -> s.substring(r[0], r[1])).toList();
        assertTrue(spans.contains("4 July 1776"), spans.toString());
        assertTrue(spans.contains("1776"), spans.toString());
        assertTrue(spans.contains("13"), spans.toString());
        assertTrue(spans.contains("Continental Congress"), spans.toString());
        assertTrue(spans.contains("Hudson River"), spans.toString());
        assertTrue(spans.contains("otter"), spans.toString());
        assertFalse(spans.contains("the"), "stopword titles are not salient: " + spans);
    }

    @Test
    void maskedQueriesReplaceTheSpanWithMaskAndKeepTargets() throws IOException {
        WordPieceTokenizer tok = tokenizer();
        Block b = new BlockSplitter(tok, 128).split(List.of(new Document("x", "T", "The treaty was signed in 1648 by many states."))).get(0);
        for (Masking.Strategy st : Masking.Strategy.values()) {
            Masking m = new Masking(tok, st, 96, List.of());
            for (int seed = 0; seed < 20; seed++) {
                MaskedQuery q = m.mask(b, 0, new SplittableRandom(seed));
                int[] orig = tok.encode(b.sentence(0), null, 96, WordPieceTokenizer.Truncation.LONGEST_FIRST).ids();
                assertTrue(q.masked() > 0);
                for (int i = 0; i < q.masked(); i++) {
                    assertEquals(tok.tokenId("[MASK]"), q.ids()[q.positions()[i]]);
                    assertEquals(orig[q.positions()[i]], q.targets()[i]);
                }
                if (st == Masking.Strategy.SALIENT) assertEquals("1648", q.maskedText(), "the only salient span");
            }
        }
        assertEquals(null, new Masking(tok, Masking.Strategy.SALIENT, 96, List.of())
                .mask(new BlockSplitter(tok, 128).split(List.of(new Document("y", "", "Too short."))).get(0), 0, new SplittableRandom(1)));
    }

    /** query_context block: the sentence with its neighbours (after it first) as fit query_len, the span still from the sentence. */
    @Test
    void blockContextQueriesHoldTheNeighbouringSentences() throws IOException {
        WordPieceTokenizer tok = tokenizer();
        String text = "Anna was born in 1801. She kept 12 goats on the farm. Her brother sold 40 sheep in town. The farm burned in 1850.";
        Block b = new BlockSplitter(tok, 128).split(List.of(new Document("x", "T", text))).get(0);
        assertEquals(4, b.sentences());
        Masking m = new Masking(tok, Masking.Strategy.SALIENT, 96, List.of(), Masking.Context.BLOCK);
        for (int s = 0; s < 4; s++) {
            MaskedQuery q = m.mask(b, s, new SplittableRandom(3));
            int[] whole = tok.encode(text, null, 96, WordPieceTokenizer.Truncation.LONGEST_FIRST).ids();
            assertEquals(whole.length, q.ids().length, "the whole block fits 96 wordpieces");
            String expected = new String[] {"1801", "12", "40", "1850"}[s];
            assertEquals(expected, q.maskedText(), "sentence " + s + "'s own salient span");
            for (int i = 0; i < q.masked(); i++) assertEquals(whole[q.positions()[i]], q.targets()[i]);
        }
        // a short query_len: as many whole neighbouring sentences as fit, never a cut one
        Masking small = new Masking(tok, Masking.Strategy.SALIENT, 16, List.of(), Masking.Context.BLOCK);
        MaskedQuery q = small.mask(b, 2, new SplittableRandom(3));
        assertTrue(q.ids().length <= 16, "within query_len");
        assertEquals("40", q.maskedText());
        // sentence context: the sentence alone
        MaskedQuery alone = new Masking(tok, Masking.Strategy.SALIENT, 96, List.of()).mask(b, 1, new SplittableRandom(3));
        assertEquals(tok.encode(b.sentence(1), null, 96, WordPieceTokenizer.Truncation.LONGEST_FIRST).length(), alone.ids().length);
    }
}
