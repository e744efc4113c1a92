package org.realmjava.trainer.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Locale;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The demo's derived data: questions that do not repeat the corpus, held-out synsets kept apart, the showcase synsets present. */
class DemoDataTest {
    @Test
    void questionsAreBlankedExamplesAbsentFromTheCorpusAndHeldOutSynsetsAreApart() {
        DemoData.Data d = DemoData.build(3000, 0.1, 5, "China", "Paris");
        assertTrue(d.corpus().size() >= 3000, "corpus " + d.corpus().size());
        Set<Long> inCorpus = new HashSet<>();
        StringBuilder all = new StringBuilder();
        for (DemoData.Synset s : d.corpus()) {
            inCorpus.add(s.offset());
            assertFalse(s.definition().contains("; \""), "definitions come without their example sentences: " + s.definition());
            all.append(s.definition().toLowerCase(Locale.ROOT)).append('\n');
        }
        assertTrue(d.corpus().stream().anyMatch(s -> s.lemmas().get(0).equals("China") && s.definition().contains("most populous")));
        assertTrue(d.corpus().stream().anyMatch(s -> s.lemmas().get(0).equals("Paris") && s.definition().contains("capital")));
        Set<Long> train = new HashSet<>();
        for (DemoData.Pair p : d.train()) train.add(p.synset());
        int checked = 0;
        for (DemoData.Pair p : d.heldout()) {
            assertFalse(train.contains(p.synset()), "a held-out synset also trains");
            assertTrue(inCorpus.contains(p.synset()), "the answer's synset is in the corpus");
            assertTrue(p.question().startsWith("Which kind of ") && p.question().contains("___"), p.question());
            String example = p.question().substring(p.question().indexOf('"') + 1, p.question().lastIndexOf('"'));
            String[] parts = example.toLowerCase(Locale.ROOT).split("___");
            // the example sentence around the blank is not a phrase of the corpus (examples were taken out of the definitions)
            if (parts.length == 2 && parts[0].strip().length() > 12 && parts[1].strip().length() > 12) {
                assertFalse(all.indexOf(parts[0].strip() + " ") >= 0 && all.indexOf(parts[1].strip()) >= 0 && all.indexOf(parts[0].strip() + " " + p.answers().get(0)) >= 0,
                        "question copied from the corpus: " + p.question());
                checked++;
            }
        }
        assertTrue(d.heldout().size() > 500 && d.train().size() > 5 * d.heldout().size(), d.train().size() + " / " + d.heldout().size());
        assertTrue(checked > 50, "checked " + checked);
        assertEquals(d.train().size() + d.heldout().size(), new HashSet<>(d.train().stream().map(DemoData.Pair::synset).toList()).size() + d.heldout().size());
    }
}
