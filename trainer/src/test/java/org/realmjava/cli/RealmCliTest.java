package org.realmjava.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class RealmCliTest {
    private static String[] run(String... args) {
        return CliRun.of(args).asArray();
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
