package org.realmjava.trainer.corpus;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Lines of a UTF-8 file, each decoded strictly on its own, so that bytes that are not UTF-8 are
 * reported with the number of the line that holds them (a buffered reader reports them where its
 * buffer happened to be). A trailing '\r' is dropped (files written on Windows).
 */
public final class TextLines implements AutoCloseable {
    private final InputStream in;
    private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();
    private final Path file;
    private int number;

    public TextLines(Path file) throws IOException {
        this.file = file;
        this.in = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
    }

    /** The number of the line last returned (1-based). */
    public int number() {
        return number;
    }

    /** The next line, or null at the end; throws CorpusException naming file and line on bytes that are not UTF-8. */
    public String next() throws IOException {
        line.reset();
        int b;
        boolean any = false;
        while ((b = in.read()) >= 0) {
            any = true;
            if (b == '\n') break;
            line.write(b);
        }
        if (!any) return null;
        number++;
        byte[] bytes = line.toByteArray();
        int n = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
        try {
            return decoder.reset().decode(ByteBuffer.wrap(bytes, 0, n)).toString();
        } catch (CharacterCodingException e) {
            throw new CorpusException(file + ":" + number + ": not UTF-8 text");
        }
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
