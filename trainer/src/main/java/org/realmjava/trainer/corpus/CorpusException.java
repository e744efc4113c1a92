package org.realmjava.trainer.corpus;

/** A corpus file that cannot be read as its format says: the message names the file and, where there is one, the line. */
public final class CorpusException extends IllegalArgumentException {
    public CorpusException(String message) {
        super(message);
    }
}
