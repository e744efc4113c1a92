package org.realmjava.trainer.corpus;

/** A corpus file that cannot be read as its format says: the message names the file and, where there is one, the line. */
public final class CorpusException extends IllegalArgumentException {
    public CorpusException(String message) {
        super(message);
    }

    /** Jackson's message without its source-location tail: "Unexpected character ('n' (code 110))", not three lines of context. */
    public static String brief(com.fasterxml.jackson.core.JsonProcessingException e) {
        String m = e.getOriginalMessage();
        int cut = m.indexOf(" (start marker");
        if (cut < 0) cut = m.indexOf(": was expecting");
        if (cut < 0) cut = m.indexOf('\n');
        return (cut < 0 ? m : m.substring(0, cut)).strip();
    }
}
