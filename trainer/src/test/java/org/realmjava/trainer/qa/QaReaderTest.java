package org.realmjava.trainer.qa;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.realmjava.trainer.eval.AnswerMatcher;

/** The Open-QA files of ../shared/data read as the benchmarks publish them (skipped with a reason when the folder is absent). */
class QaReaderTest {
    private static final Path DATA = Path.of("../../shared/data");

    private static Path data(String f) {
        Path p = DATA.resolve(f);
        if (!Files.isRegularFile(p)) System.out.println("QaReaderTest: skipped, " + p.toAbsolutePath().normalize() + " is absent");
        assumeTrue(Files.isRegularFile(p), p + " absent");
        return p;
    }

    @Test
    void readsNqOpenWebQuestionsCuratedTrecAndSquad() {
        Object[][] sets = {{"nq-open/NQ-open.dev.jsonl", 3610, false}, {"webquestions/WebQuestions-test.txt", 2032, false},
            {"curatedtrec/CuratedTrec-test.txt", 694, true}, {"squad/dev-v1.1.json", 10570, false}, {"squad/SQuAD-v1.1-dev.txt", 10570, false}};
        for (Object[] s : sets) {
            Path p = data((String) s[0]);
            String format = QaReader.guessFormat(p);
            List<QaExample> q = QaReader.read(p, format);
            assertEquals((int) s[1], q.size(), p.toString());
            for (QaExample e : q) {
                assertEquals((boolean) s[2], e.regexAnswers(), p.toString());
                assertFalse(e.question().isBlank() || e.answers().isEmpty(), p + ": " + e);
                AnswerMatcher.of(e); // every regex compiles
            }
        }
    }

    @Test
    void curatedTrecAnswersMatchAsDrQaDoes() {
        List<QaExample> q = QaReader.read(data("curatedtrec/CuratedTrec-test.txt"), "curatedtrec");
        QaExample mckinley = q.stream().filter(e -> e.question().equals("How tall is Mount McKinley?")).findFirst().orElseThrow();
        AnswerMatcher m = AnswerMatcher.of(mckinley);
        assertTrue(m.exact("20,320 feet"));
        assertTrue(m.exact("20,320 feet tall"), "re.match anchors at the start only");
        assertFalse(m.exact("about 20,320 feet"));
        assertTrue(m.inBlock("The summit is 20,320 feet above sea level.", ""));
        assertFalse(m.span("20,320 feet tall", ""), "a training span must match whole");
    }
}
