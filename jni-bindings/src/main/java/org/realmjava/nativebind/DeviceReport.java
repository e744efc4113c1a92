package org.realmjava.nativebind;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * What compute this machine offers, answered without ever throwing: the CPU (cores, SIMD
 * width the JVM chose is reported by the tensor module), OpenBLAS, and whether a CUDA driver
 * library can be found. The full CUDA discovery (devices, memory, versions) arrives with the
 * CUDA path; until then a found driver is reported as "driver present, CUDA backend not built".
 */
public final class DeviceReport {
    private DeviceReport() {}

    /** Folders where CUDA libraries usually live, in search order. */
    public static List<Path> cudaLibrarySearchPath() {
        Set<Path> dirs = new LinkedHashSet<>();
        String ld = System.getenv("LD_LIBRARY_PATH");
        if (ld != null) for (String p : ld.split(":")) if (!p.isBlank()) dirs.add(Path.of(p));
        dirs.add(Path.of("/usr/local/cuda/lib64"));
        try (var s = Files.newDirectoryStream(Path.of("/usr/local"), "cuda*")) {
            for (Path p : s) dirs.add(p.resolve("lib64"));
        } catch (Exception ignored) {
            // no /usr/local or unreadable: nothing to add
        }
        dirs.add(Path.of("/usr/lib/x86_64-linux-gnu"));
        dirs.add(Path.of("/usr/lib64"));
        dirs.add(Path.of("/usr/lib/wsl/lib"));
        return new ArrayList<>(dirs);
    }

    /** The first file named {@code name} in the CUDA search path, or null. */
    public static Path findLibrary(String name) {
        for (Path dir : cudaLibrarySearchPath()) {
            Path p = dir.resolve(name);
            if (Files.exists(p)) return p;
        }
        return null;
    }

    /** One line on CUDA: what was found, or exactly why it is unavailable. */
    public static String cudaLine() {
        Path driver = findLibrary("libcuda.so.1");
        if (driver == null) {
            return "CUDA: unavailable (no NVIDIA driver library libcuda.so.1 on LD_LIBRARY_PATH or the usual paths); using the CPU path";
        }
        return "CUDA: driver library found at " + driver + ", but this build has no CUDA backend yet; using the CPU path";
    }

    /** One line on OpenBLAS. */
    public static String openBlasLine() {
        return OpenBlas.available()
                ? "OpenBLAS: " + OpenBlas.config()
                : "OpenBLAS: unavailable (" + OpenBlas.loadError() + "); GEMM uses the Vector API kernel only";
    }
}
