package org.realmjava.transformer.tokenizer;

/** A tokenizer file that cannot be used; the message names the file and the problem. */
public class TokenizerFormatException extends RuntimeException {
    public TokenizerFormatException(String message) {
        super(message);
    }

    public TokenizerFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
