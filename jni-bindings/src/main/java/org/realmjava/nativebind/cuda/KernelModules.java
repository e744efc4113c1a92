package org.realmjava.nativebind.cuda;

import static org.bytedeco.cuda.global.nvrtc.*;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Properties;
import org.bytedeco.cuda.nvrtc._nvrtcProgram;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.SizeTPointer;

/**
 * Kernel images for a family: the fatbin nvcc built into the kernels jar when the build had nvcc,
 * else a CUBIN compiled here by NVRTC from the packed sources for this GPU's architecture and
 * cached under {@code ~/.cache/realm-java/kernels} (keyed by source, options and NVRTC version).
 */
public final class KernelModules {
    static final String ROOT = "org/realmjava/kernels/";
    static final String HEADER = "realm_common.cuh";

    private KernelModules() {}

    /** How a module image was obtained, and its bytes. */
    public record Image(byte[] bytes, String origin, boolean fromFatbin) {}

    /** The build's kernels.properties (families, whether nvcc compiled them, its version). */
    public static Properties buildInfo() {
        Properties p = new Properties();
        try (InputStream in = resource("kernels.properties")) {
            if (in != null) p.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return p;
    }

    static Image image(String family, GpuInfo gpu) {
        byte[] fatbin = read(family + ".fatbin");
        if (fatbin != null) return new Image(fatbin, "fatbin (nvcc " + buildInfo().getProperty("nvcc", "?") + ")", true);
        return compile(family, gpu);
    }

    /** Compiles a family with NVRTC for this GPU (cached on disk). */
    static Image compile(String family, GpuInfo gpu) {
        byte[] src = read("src/" + family + ".cu"), header = read("src/" + HEADER);
        if (src == null || header == null) throw new CudaException("kernel family '" + family + "' is not in the kernels jar");
        String arch = "sm_" + gpu.ccMajor() + gpu.ccMinor();
        String[] options = {"--gpu-architecture=" + arch, "-std=c++17", "-O3"};
        loadNvrtc();
        int[] major = new int[1], minor = new int[1];
        nvrtcVersion(major, minor);
        String key = sha256(src, header, String.join(" ", options).getBytes(StandardCharsets.UTF_8),
                (major[0] + "." + minor[0]).getBytes(StandardCharsets.UTF_8));
        Path cache = Path.of(System.getProperty("user.home"), ".cache", "realm-java", "kernels", family + "-" + arch + "-" + key.substring(0, 16) + ".cubin");
        String origin = "NVRTC " + major[0] + "." + minor[0] + " for " + arch;
        try {
            if (Files.isRegularFile(cache)) return new Image(Files.readAllBytes(cache), origin + " (cached)", false);
        } catch (IOException ignored) {
            // unreadable cache: compile again
        }
        byte[] cubin = nvrtcCompile(family, new String(src, StandardCharsets.UTF_8), new String(header, StandardCharsets.UTF_8), options);
        try {
            Files.createDirectories(cache.getParent());
            Path tmp = org.realmjava.io.TempFiles.create(cache.getParent(), family, ".tmp");
            Files.write(tmp, cubin);
            Files.move(tmp, cache, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException ignored) {
            // a read-only home: run without the cache
        }
        return new Image(cubin, origin, false);
    }

    private static byte[] nvrtcCompile(String family, String src, String header, String[] options) {
        _nvrtcProgram prog = new _nvrtcProgram();
        PointerPointer<BytePointer> headers = new PointerPointer<>(new BytePointer(header));
        PointerPointer<BytePointer> names = new PointerPointer<>(new BytePointer(HEADER));
        check(nvrtcCreateProgram(prog, new BytePointer(src), new BytePointer(family + ".cu"), 1, headers, names), "nvrtcCreateProgram");
        try {
            BytePointer[] opts = new BytePointer[options.length];
            for (int i = 0; i < options.length; i++) opts[i] = new BytePointer(options[i]);
            int rc = nvrtcCompileProgram(prog, options.length, new PointerPointer<>(opts));
            if (rc != NVRTC_SUCCESS) {
                SizeTPointer n = new SizeTPointer(1);
                nvrtcGetProgramLogSize(prog, n);
                BytePointer log = new BytePointer(n.get());
                nvrtcGetProgramLog(prog, log);
                String first = log.getString().lines().filter(l -> l.contains("error")).findFirst().orElse(log.getString().strip());
                throw new CudaException("NVRTC could not compile " + family + ".cu: " + first);
            }
            SizeTPointer n = new SizeTPointer(1);
            check(nvrtcGetCUBINSize(prog, n), "nvrtcGetCUBINSize");
            BytePointer out = new BytePointer(n.get());
            check(nvrtcGetCUBIN(prog, out), "nvrtcGetCUBIN");
            byte[] bytes = new byte[(int) n.get()];
            out.get(bytes);
            return bytes;
        } finally {
            nvrtcDestroyProgram(prog);
        }
    }

    private static volatile boolean nvrtcLoaded;

    private static synchronized void loadNvrtc() {
        if (nvrtcLoaded) return;
        CudaLibraries libs = Cuda.libraries();
        Path lib = libs.find(CudaLibraries.NVRTC);
        if (lib == null) throw new CudaException("NVRTC is needed (no compiled fatbin for this GPU) but " + libs.missing(CudaLibraries.NVRTC));
        // libnvrtc dlopens its builtins by soname: load the copy beside it first
        try (var s = Files.newDirectoryStream(lib.getParent(), CudaLibraries.NVRTC_BUILTINS + "*")) {
            for (Path b : s) CudaLibraries.preload(b);
        } catch (IOException ignored) {
            // no builtins beside it: libnvrtc will search the usual paths
        }
        String err = CudaLibraries.preload(lib);
        if (err != null) throw new CudaException("cannot load " + err);
        try {
            Loader.load(org.bytedeco.cuda.global.nvrtc.class);
        } catch (Throwable t) {
            throw new CudaException("cannot load the JavaCPP NVRTC bindings: " + t.getMessage());
        }
        nvrtcLoaded = true;
    }

    private static void check(int rc, String call) {
        if (rc != NVRTC_SUCCESS) throw new CudaException(call, nvrtcGetErrorString(rc).getString(), rc);
    }

    private static InputStream resource(String name) {
        return KernelModules.class.getClassLoader().getResourceAsStream(ROOT + name);
    }

    private static byte[] read(String name) {
        try (InputStream in = resource(name)) {
            return in == null ? null : in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String sha256(byte[]... parts) {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            for (byte[] p : parts) {
                d.update(p);
                d.update((byte) 0);
            }
            return HexFormat.of().formatHex(d.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
