package org.realmjava.mips;

import java.nio.file.Path;

/** A vector or index file that cannot be used: the message names the file and the problem in one line. */
public class IndexFormatException extends RuntimeException {
    public IndexFormatException(Path file, String problem) {
        super(file + ": " + problem);
    }

    public IndexFormatException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
    }
}
