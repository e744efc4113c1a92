package org.realmjava.trainer.qa;

import java.util.List;

/** An open-domain question with its gold answers (strings; for CuratedTREC, regular expressions), and where it came from. */
public record QaExample(String id, String question, List<String> answers, boolean regexAnswers, int article) {}
