package org.realmjava.trainer.synthetic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.realmjava.trainer.corpus.CorpusException;
import org.realmjava.trainer.corpus.CorpusReader;
import org.realmjava.trainer.corpus.Document;
import org.realmjava.trainer.pretrain.Probe;

/** The synthetic world states each fact in two blocks, never in a probe's wording, and its files read back. */
class SyntheticWorldTest {
    @TempDir
    Path dir;

    @Test
    void eachProbeFactIsStatedByItsTwoBlocksInOtherWords() {
        SyntheticWorld.World w = SyntheticWorld.generate(60, 3);
        assertEquals(60, w.probes().size());
        assertEquals(120 + w.towns().size(), w.corpus().size());
        Map<String, Document> byId = new HashMap<>();
        for (Document d : w.corpus()) assertTrue(byId.put(d.id(), d) == null, "duplicate id " + d.id());
        Set<String> corpusSentences = new HashSet<>();
        for (Document d : w.corpus()) for (String s : d.text().split("(?<=\\.) ")) corpusSentences.add(s);
        for (int i = 0; i < w.probes().size(); i++) {
            Probe p = w.probes().get(i);
            SyntheticWorld.Person person = w.people().get(i);
            assertEquals(2, p.blocks().size());
            int at = p.text().indexOf(p.mask());
            assertTrue(SyntheticWorld.standsAlone(p.text(), at, p.mask().length()), "the mask's first occurrence is the fact: " + p);
            assertTrue(p.text().contains(person.name()), p.text());
            assertFalse(corpusSentences.contains(p.text()), "a probe's wording is in the corpus: " + p.text());
            for (String id : p.blocks()) {
                Document d = byId.get(id);
                assertTrue(d != null, "unknown block " + id);
                assertTrue(d.text().contains(p.mask()) && d.text().contains(person.last()), d.text() + " does not state " + p.mask());
            }
            // two different wordings of the same facts
            assertFalse(byId.get(p.blocks().get(0)).text().equals(byId.get(p.blocks().get(1)).text()));
        }
    }

    @Test
    void theSameSeedGivesTheSameWorldAndOtherSeedsOthers() {
        assertEquals(SyntheticWorld.generate(30, 5), SyntheticWorld.generate(30, 5));
        assertFalse(SyntheticWorld.generate(30, 5).people().equals(SyntheticWorld.generate(30, 6).people()));
        assertThrows(IllegalArgumentException.class, () -> SyntheticWorld.generate(3, 1));
    }

    @Test
    void itsFilesReadBackAsACorpusAndProbes() throws IOException {
        SyntheticWorld.World w = SyntheticWorld.generate(20, 9);
        SyntheticWorld.write(w, dir);
        List<Document> corpus = CorpusReader.read(dir.resolve("corpus.jsonl"), org.realmjava.trainer.corpus.CorpusFormat.JSONL, 0);
        assertEquals(w.corpus(), corpus);
        List<Probe> probes = Probe.read(dir.resolve("probes.jsonl"));
        assertEquals(w.probes().size(), probes.size());
        for (int i = 0; i < probes.size(); i++) {
            assertEquals(w.probes().get(i).text(), probes.get(i).text());
            assertEquals(w.probes().get(i).blocks(), probes.get(i).blocks());
            assertEquals(i + 1, probes.get(i).line());
        }
    }

    @Test
    void badProbeLinesAreOneLineNamingFileAndLine() throws IOException {
        Path f = dir.resolve("p.jsonl");
        for (String[] c : new String[][] {
            {"{\"text\": \"a b c\", \"mask\": \"b\"}\nnot json\n", "p.jsonl:2: not JSON"},
            {"{\"text\": \"a b c\", \"mask\": \"z\"}\n", "p.jsonl:1: 'mask' \"z\" does not occur in 'text'"},
            {"{\"text\": \"a b c\", \"mask\": \"b\", \"blocks\": \"x\"}\n", "p.jsonl:1: 'blocks' must be a list of corpus ids"},
            {"{\"mask\": \"b\"}\n", "p.jsonl:1: 'text' must be a non-empty string"},
        }) {
            Files.writeString(f, c[0]);
            String m = assertThrows(CorpusException.class, () -> Probe.read(f)).getMessage();
            assertTrue(m.startsWith(f + ":") && m.contains(c[1]), m);
        }
    }
}
