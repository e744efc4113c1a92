package org.realmjava.nativebind.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CUDA library search path, on a fake file system laid out like real GPU machines. */
class CudaLibrariesTest {
    @TempDir
    Path root;

    private Path touch(String rel) throws Exception {
        Path p = root.resolve(rel);
        Files.createDirectories(p.getParent());
        Files.writeString(p, "");
        return p;
    }

    @Test
    void findsToolkitDriverAndPythonWheelLibrariesInOrder() throws Exception {
        Path ld = touch("opt/mine/libcudart.so.13");
        touch("usr/local/cuda/lib64/libcudart.so.13");
        Path toolkit13 = touch("usr/local/cuda-13.0/lib64/libnvrtc.so.13");
        Path driver = touch("usr/lib/x86_64-linux-gnu/libcuda.so.1");
        Path wheel = touch("usr/local/lib/python3.11/dist-packages/nvidia/cublas/lib/libcublas.so.13");
        Path cu13 = touch("home/u/.local/lib/python3.12/site-packages/nvidia/cu13/lib/libcublasLt.so.13");
        Map<String, String> env = Map.of("LD_LIBRARY_PATH", root.resolve("opt/mine") + "::" + root.resolve("missing"),
                "HOME", root.resolve("home/u").toString());
        CudaLibraries libs = new CudaLibraries(CudaLibraries.defaultSearchPath(env, root));
        assertEquals(ld, libs.find(CudaLibraries.RUNTIME), "LD_LIBRARY_PATH comes first");
        assertEquals(toolkit13, libs.find(CudaLibraries.NVRTC));
        assertEquals(driver, libs.find(CudaLibraries.DRIVER));
        assertEquals(wheel, libs.find(CudaLibraries.CUBLAS));
        assertEquals(cu13, libs.find(CudaLibraries.CUBLAS_LT));
        assertTrue(libs.searchPath().stream().allMatch(Files::isDirectory), "only existing folders are searched");
    }

    @Test
    void missingLibraryNamesOtherMajorVersions() throws Exception {
        touch("usr/local/lib/python3.10/site-packages/nvidia/cublas/lib/libcublas.so.12");
        CudaLibraries libs = new CudaLibraries(CudaLibraries.defaultSearchPath(Map.of(), root));
        assertNull(libs.find(CudaLibraries.CUBLAS));
        String msg = libs.missing(CudaLibraries.CUBLAS);
        assertTrue(msg.startsWith("libcublas.so.13 not found"), msg);
        assertTrue(msg.contains("libcublas.so.12") && msg.contains("different CUDA major version"), msg);
        assertEquals(1, msg.lines().count());
    }
}
