package org.realmjava.nativebind.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * Discovery never throws: on a machine without a GPU it names the reason; on a GPU machine it lists
 * the devices. Either way the lines are what {@code realm devices} prints.
 */
class CudaStatusTest {
    @Test
    void discoveryAnswersWithoutThrowing() {
        CudaStatus s = Cuda.status();
        s.lines().forEach(l -> System.out.println("cuda status: " + l));
        if (s.available()) {
            assertFalse(s.gpus().isEmpty());
            assertTrue(s.gpus().get(0).totalMemory() > 0);
            assertTrue(s.lines().get(0).startsWith("CUDA: driver "));
        } else {
            assertEquals(1, s.lines().size());
            assertTrue(s.reason().length() > 10, s.reason());
            assertTrue(s.lines().get(0).endsWith("using the CPU path"));
            CudaException e = assertThrows(CudaException.class, Cuda::context);
            assertTrue(e.getMessage().startsWith("CUDA unavailable: "), e.getMessage());
        }
    }

    @Test
    void versionsPrintLikeNvidiaSmi() {
        assertEquals("13.0", CudaStatus.version(13000));
        assertEquals("12.9", CudaStatus.version(12090));
        assertEquals("?", CudaStatus.version(0));
    }

    @Test
    void kernelsJarSaysHowItWasBuilt() {
        var info = KernelModules.buildInfo();
        assertTrue(info.getProperty("families", "").contains("mips_topk"), "kernels.properties lists the families: " + info);
        String compiled = info.getProperty("compiled");
        assertTrue("true".equals(compiled) || "false".equals(compiled), String.valueOf(compiled));
        System.out.println("kernels: compiled=" + compiled + " nvcc=" + info.getProperty("nvcc", "-"));
    }
}
