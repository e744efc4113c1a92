package org.realmjava.nativebind;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The width OpenBLAS's chosen kernels have: the CPU backend gives OpenBLAS large GEMMs only when it is at least the JVM's. */
class OpenBlasCoreTest {
    @Test
    void coreNamesMapToTheirKernelWidths() {
        assertEquals(512, OpenBlas.kernelVectorBits("SkylakeX"));
        assertEquals(512, OpenBlas.kernelVectorBits("Cooperlake"));
        assertEquals(512, OpenBlas.kernelVectorBits("SapphireRapids"));
        assertEquals(256, OpenBlas.kernelVectorBits("Haswell"));
        assertEquals(256, OpenBlas.kernelVectorBits("Zen"));
        assertEquals(256, OpenBlas.kernelVectorBits(" sandybridge "));
        assertEquals(128, OpenBlas.kernelVectorBits("Nehalem"));
        assertEquals(128, OpenBlas.kernelVectorBits("NeoverseN1"));
        assertEquals(128, OpenBlas.kernelVectorBits(""));
    }

    @Test
    void theLoadedLibraryReportsACoreName() {
        if (!OpenBlas.available()) {
            System.out.println("OpenBlasCoreTest: OpenBLAS not loaded here (" + OpenBlas.loadError() + "), core name not checked");
            return;
        }
        String name = OpenBlas.coreName();
        System.out.println("OpenBlasCoreTest: OpenBLAS core " + name + ", kernels " + OpenBlas.kernelVectorBits(name) + " bits");
        assertTrue(!name.isBlank(), "empty core name");
        assertTrue(OpenBlas.config().contains(name), OpenBlas.config());
    }
}
