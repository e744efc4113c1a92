package org.realmjava.transformer;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** Where tests find the default model's files (from the Maven artifact) and the shared data sets. */
public final class TestData {
    private TestData() {}

    /** A resource of the test class path copied to a temporary file (for runtimes that need a path). */
    public static Path resourceFile(String name) throws IOException {
        Path p = Files.createTempFile("realm-test-", "-" + name);
        p.toFile().deleteOnExit();
        try (InputStream in = TestData.class.getClassLoader().getResourceAsStream(name)) {
            if (in == null) throw new IOException("resource " + name + " is not on the class path");
            Files.copy(in, p, StandardCopyOption.REPLACE_EXISTING);
        }
        return p;
    }

    /** ../shared/data relative to the module or the project root, or null when absent. */
    public static Path sharedData() {
        for (String candidate : new String[] {"../../shared/data", "../shared/data", "shared/data"}) {
            Path p = Path.of(candidate);
            if (Files.isDirectory(p)) return p;
        }
        return null;
    }
}
