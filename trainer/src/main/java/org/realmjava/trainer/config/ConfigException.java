package org.realmjava.trainer.config;

/** A config that cannot be used as written; the message names the file and the key. */
public final class ConfigException extends IllegalArgumentException {
    public ConfigException(String message) {
        super(message);
    }
}
