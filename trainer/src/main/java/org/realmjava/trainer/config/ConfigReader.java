package org.realmjava.trainer.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Strict reading of a JSON config object: each key is read by name and type; an ill-typed value
 * or a key nobody read ({@link #finish}) is a {@link ConfigException} that names the key (with its
 * path, "init.random.layers") and the file. Relative paths resolve against the config's folder.
 */
public final class ConfigReader {
    private final JsonNode node;
    private final String prefix;
    private final Path file;
    private final Set<String> read = new LinkedHashSet<>();
    private final List<ConfigReader> children = new ArrayList<>();

    private ConfigReader(JsonNode node, String prefix, Path file) {
        this.node = node;
        this.prefix = prefix;
        this.file = file;
    }

    public static ConfigReader open(Path file) {
        if (Files.isDirectory(file)) throw new ConfigException(file + ": is a directory, not a config file");
        if (!Files.isRegularFile(file)) throw new ConfigException(file + ": no such config file");
        JsonNode n;
        try {
            n = new ObjectMapper().readTree(file.toFile());
        } catch (JsonProcessingException e) {
            throw new ConfigException(file + ":" + e.getLocation().getLineNr() + ": not JSON (" + org.realmjava.trainer.corpus.CorpusException.brief(e) + ")");
        } catch (IOException e) {
            throw new ConfigException(file + ": cannot read: " + e.getMessage());
        }
        if (n == null || !n.isObject()) throw new ConfigException(file + ": the config must be a JSON object");
        return new ConfigReader(n, "", file.toAbsolutePath());
    }

    public Path file() {
        return file;
    }

    private JsonNode take(String key) {
        read.add(key);
        JsonNode v = node.get(key);
        return v == null || v.isNull() ? null : v;
    }

    private ConfigException typeError(String key, String type, JsonNode v) {
        return new ConfigException("config " + file.getFileName() + ": '" + prefix + key + "' must be " + type + ", got " + v);
    }

    public boolean has(String key) {
        return node.has(key) && !node.get(key).isNull();
    }

    public String string(String key, String fallback) {
        JsonNode v = take(key);
        if (v == null) return fallback;
        if (!v.isTextual()) throw typeError(key, "a string", v);
        return v.asText();
    }

    /** A path, resolved against the config file's folder when relative; null when absent. */
    public Path path(String key) {
        String s = string(key, null);
        if (s == null) return null;
        Path p = Path.of(s);
        return p.isAbsolute() ? p : file.getParent().resolve(p).normalize();
    }

    public int integer(String key, int fallback, int min) {
        JsonNode v = take(key);
        if (v == null) return fallback;
        if (!v.isIntegralNumber() || !v.canConvertToInt()) throw typeError(key, "an integer", v);
        int i = v.asInt();
        if (i < min) throw new ConfigException("config " + file.getFileName() + ": '" + prefix + key + "' must be at least " + min + ", got " + i);
        return i;
    }

    public long longValue(String key, long fallback) {
        JsonNode v = take(key);
        if (v == null) return fallback;
        if (!v.isIntegralNumber() || !v.canConvertToLong()) throw typeError(key, "an integer", v);
        return v.asLong();
    }

    public double number(String key, double fallback, double min, double max) {
        JsonNode v = take(key);
        if (v == null) return fallback;
        if (!v.isNumber()) throw typeError(key, "a number", v);
        double d = v.asDouble();
        if (!(d >= min && d <= max)) {
            throw new ConfigException("config " + file.getFileName() + ": '" + prefix + key + "' must be in [" + min + ", " + max + "], got " + d);
        }
        return d;
    }

    public boolean bool(String key, boolean fallback) {
        JsonNode v = take(key);
        if (v == null) return fallback;
        if (!v.isBoolean()) throw typeError(key, "true or false", v);
        return v.asBoolean();
    }

    /** A nested object, or null when absent. */
    public ConfigReader object(String key) {
        JsonNode v = take(key);
        if (v == null) return null;
        if (!v.isObject()) throw typeError(key, "an object", v);
        ConfigReader c = new ConfigReader(v, prefix + key + ".", file);
        children.add(c);
        return c;
    }

    /** A value that must be one of choices (a string). */
    public String choice(String key, String fallback, String... choices) {
        String s = string(key, fallback);
        for (String c : choices) if (c.equals(s)) return s;
        throw new ConfigException("config " + file.getFileName() + ": '" + prefix + key + "' must be one of " + String.join(", ", choices) + ", got '" + s + "'");
    }

    /** A failure about one key's value (e.g. k larger than the corpus). */
    public ConfigException invalid(String key, String problem) {
        return new ConfigException("config " + file.getFileName() + ": '" + prefix + key + "' " + problem);
    }

    /** Fails on the first key that no reader asked for. */
    public void finish() {
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!read.contains(k)) {
                throw new ConfigException("config " + file.getFileName() + ": unknown key '" + prefix + k + "' (known here: " + String.join(", ", new java.util.TreeSet<>(read)) + ")");
            }
        }
        for (ConfigReader c : children) c.finish();
    }
}
