package org.realmjava.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import org.junit.jupiter.api.Test;

class RealmCliTest {
    private static String[] run(String... args) {
        PrintStream out = System.out, err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream(), e = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(o, true));
            System.setErr(new PrintStream(e, true));
            int code = RealmCli.run(args);
            return new String[] {String.valueOf(code), o.toString(), e.toString()};
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }

    @Test
    void devicesReportsCpuAndCuda() {
        String[] r = run("devices");
        assertEquals("0", r[0]);
        assertTrue(r[1].contains("CPU:") && r[1].contains("SIMD:") && r[1].contains("CUDA:") && r[1].contains("Backend:"), r[1]);
    }

    @Test
    void unknownCommandIsExitTwoWithOneLine() {
        String[] r = run("frobnicate");
        assertEquals("2", r[0]);
        assertTrue(r[2].startsWith("realm: "), r[2]);
        assertEquals(1, r[2].strip().lines().count(), r[2]);
        assertTrue(!r[2].contains("Exception"), r[2]);
    }
}
