package org.realmjava.trainer.eval;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.realmjava.trainer.qa.QaExample;

/**
 * Whether a predicted answer, a reader span or a retrieved block matches a question's gold answers.
 * Plain answers (NQ-open, WebQuestions, SQuAD) compare after {@link AnswerNormalizer#normalize}
 * (lowercase, no punctuation, no a/an/the, single spaces): exact match is equality, a block
 * contains an answer when it holds it as whole words. Regular-expression answers (CuratedTREC)
 * follow DrQA's evaluation: case-insensitive; a prediction matches when the pattern matches at its
 * start ({@code re.match}), a block when the pattern occurs anywhere in it ({@code re.search}), and
 * a training span only when the pattern matches the whole span.
 */
public final class AnswerMatcher {
    private final List<String> normalized;
    private final List<Pattern> patterns;

    private AnswerMatcher(List<String> normalized, List<Pattern> patterns) {
        this.normalized = normalized;
        this.patterns = patterns;
    }

    public static AnswerMatcher of(QaExample q) {
        if (!q.regexAnswers()) {
            List<String> n = new ArrayList<>();
            for (String a : q.answers()) {
                String s = AnswerNormalizer.normalize(a);
                if (!s.isEmpty() && !n.contains(s)) n.add(s);
            }
            return new AnswerMatcher(n, List.of());
        }
        List<Pattern> p = new ArrayList<>();
        for (String a : q.answers()) {
            try {
                p.add(Pattern.compile(a, Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE | Pattern.MULTILINE));
            } catch (PatternSyntaxException e) {
                throw new IllegalArgumentException("question '" + q.question() + "': answer /" + a + "/ is not a regular expression (" + e.getDescription() + ")");
            }
        }
        return new AnswerMatcher(List.of(), p);
    }

    /** No answer could ever match (every plain answer normalises to nothing). */
    public boolean isEmpty() {
        return normalized.isEmpty() && patterns.isEmpty();
    }

    /** Exact match of a predicted answer. */
    public boolean exact(String prediction) {
        if (!patterns.isEmpty()) {
            for (Pattern p : patterns) if (p.matcher(prediction.strip()).lookingAt()) return true;
            return false;
        }
        return normalized.contains(AnswerNormalizer.normalize(prediction));
    }

    /** A reader span is a training target: normalised equality, or the whole span matching a pattern. */
    public boolean span(String spanText, String normalizedSpan) {
        if (!patterns.isEmpty()) {
            for (Pattern p : patterns) if (p.matcher(spanText).matches()) return true;
            return false;
        }
        return normalized.contains(normalizedSpan);
    }

    /** A retrieved block holds an answer (block text raw, and normalised by the caller once per block). */
    public boolean inBlock(String text, String normalizedText) {
        if (!patterns.isEmpty()) {
            for (Pattern p : patterns) if (p.matcher(text).find()) return true;
            return false;
        }
        for (String a : normalized) if (AnswerNormalizer.containsWords(normalizedText, a)) return true;
        return false;
    }
}
