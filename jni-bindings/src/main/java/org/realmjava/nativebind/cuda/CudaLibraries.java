package org.realmjava.nativebind.cuda;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Finds the CUDA shared libraries this build binds to, wherever a machine keeps them:
 * {@code LD_LIBRARY_PATH}, {@code $CUDA_HOME/lib64}, {@code /usr/local/cuda*}{@code /lib64}, the
 * distribution's library folders, and the {@code nvidia/<package>/lib} folders of Python installs
 * (pip's nvidia-cublas, nvidia-cuda-nvrtc, ... wheels, where GPU machines often keep cuBLAS and
 * NVRTC). The JavaCPP presets link to CUDA 13 sonames, so those are what is looked for; other
 * major versions found on the way are reported, to make a mismatch obvious.
 */
public final class CudaLibraries {
    /** Driver API (installed with the NVIDIA driver, not with the toolkit). */
    public static final String DRIVER = "libcuda.so.1";
    public static final String RUNTIME = "libcudart.so.13";
    public static final String CUBLAS_LT = "libcublasLt.so.13";
    public static final String CUBLAS = "libcublas.so.13";
    public static final String NVRTC = "libnvrtc.so.13";
    /** NVRTC's builtins library, which libnvrtc loads by name from its own folder or the search path. */
    public static final String NVRTC_BUILTINS = "libnvrtc-builtins.so.13.";

    private final List<Path> searchPath;

    public CudaLibraries(List<Path> searchPath) {
        this.searchPath = List.copyOf(searchPath);
    }

    /** The search path of this process (environment and the usual install locations). */
    public static CudaLibraries system() {
        return new CudaLibraries(defaultSearchPath(System.getenv(), Path.of("/")));
    }

    public List<Path> searchPath() {
        return searchPath;
    }

    /**
     * Folders to search, in order, below {@code root} (the file system root outside tests).
     * Python locations: any {@code lib/python3*}/{@code site-packages|dist-packages} under /usr,
     * /usr/local, /opt/conda, the user's ~/.local, $VIRTUAL_ENV and $CONDA_PREFIX.
     */
    static List<Path> defaultSearchPath(Map<String, String> env, Path root) {
        Set<Path> dirs = new LinkedHashSet<>();
        String ld = env.get("LD_LIBRARY_PATH");
        if (ld != null) for (String p : ld.split(":")) if (!p.isBlank()) dirs.add(Path.of(p));
        String cudaHome = env.getOrDefault("CUDA_HOME", env.get("CUDA_PATH"));
        if (cudaHome != null && !cudaHome.isBlank()) dirs.add(Path.of(cudaHome, "lib64"));
        dirs.add(root.resolve("usr/local/cuda/lib64"));
        for (Path p : glob(root.resolve("usr/local"), "cuda*")) dirs.add(p.resolve("lib64"));
        dirs.add(root.resolve("usr/lib/x86_64-linux-gnu"));
        dirs.add(root.resolve("usr/lib64"));
        dirs.add(root.resolve("usr/lib/wsl/lib"));
        List<Path> prefixes = new ArrayList<>(List.of(root.resolve("usr"), root.resolve("usr/local"), root.resolve("opt/conda")));
        String home = env.get("HOME");
        if (home != null) prefixes.add(Path.of(home, ".local"));
        for (String var : List.of("VIRTUAL_ENV", "CONDA_PREFIX")) if (env.get(var) != null) prefixes.add(Path.of(env.get(var)));
        for (Path prefix : prefixes) {
            for (Path py : glob(prefix.resolve("lib"), "python3*")) {
                for (String site : List.of("site-packages", "dist-packages")) {
                    for (Path pkg : glob(py.resolve(site).resolve("nvidia"), "*")) {
                        dirs.add(pkg.resolve("lib"));
                        for (Path sub : glob(pkg, "*")) if (sub.getFileName().toString().startsWith("cu")) dirs.add(sub.resolve("lib"));
                    }
                }
            }
        }
        List<Path> out = new ArrayList<>();
        for (Path d : dirs) if (Files.isDirectory(d)) out.add(d);
        return out;
    }

    private static List<Path> glob(Path dir, String pattern) {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) return out;
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, pattern)) {
            for (Path p : s) if (Files.isDirectory(p)) out.add(p);
        } catch (IOException | RuntimeException ignored) {
            // unreadable folder: nothing found there
        }
        out.sort(null);
        return out;
    }

    /** The first file with this exact name on the search path, or null. */
    public Path find(String name) {
        for (Path dir : searchPath) {
            Path p = dir.resolve(name);
            if (Files.isRegularFile(p) || Files.isSymbolicLink(p) && Files.exists(p)) return p;
        }
        return null;
    }

    /**
     * Files named like {@code stem.so.N} for any major version N (to say "found libcublas.so.12,
     * this build needs .13"): the first of each name.
     */
    public List<Path> otherVersions(String stem) {
        List<Path> out = new ArrayList<>();
        Set<String> seen = new LinkedHashSet<>();
        for (Path dir : searchPath) {
            try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, stem + ".so.*")) {
                for (Path p : s) if (seen.add(p.getFileName().toString())) out.add(p);
            } catch (IOException | RuntimeException ignored) {
                // unreadable: skip
            }
        }
        out.sort(null);
        return out;
    }

    /** One line naming what is missing: "libcublas.so.13 not found (found libcublas.so.12 at ...)". */
    public String missing(String name) {
        String stem = name.substring(0, name.indexOf(".so"));
        List<Path> others = otherVersions(stem);
        String where = searchPath.isEmpty() ? "no library folders exist" : "searched " + searchPath.size() + " folders incl. LD_LIBRARY_PATH, /usr/local/cuda*/lib64 and Python nvidia/*/lib";
        return name + " not found (" + where + (others.isEmpty() ? "" : "; found " + others + ", a different CUDA major version") + ")";
    }

    /**
     * Loads a library by absolute path so that the JavaCPP JNI libraries, which name it by soname,
     * bind to this copy. Returns null on success, else the loader's message.
     */
    public static String preload(Path lib) {
        try {
            System.load(lib.toAbsolutePath().toString());
            return null;
        } catch (UnsatisfiedLinkError | SecurityException e) {
            return lib + ": " + e.getMessage();
        }
    }
}
