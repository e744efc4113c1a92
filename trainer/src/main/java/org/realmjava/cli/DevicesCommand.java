package org.realmjava.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.realmjava.nativebind.DeviceReport;
import org.realmjava.tensor.Backend;
import org.realmjava.tensor.parallel.Parallel;
import org.realmjava.tensor.simd.SimdSpecies;
import picocli.CommandLine.Command;

/** {@code realm devices}: what compute is available and why. */
@Command(name = "devices", description = "Show the compute this machine offers (CPU, SIMD width, OpenBLAS, CUDA) and the backend in use.")
final class DevicesCommand implements Callable<Integer> {

    @Override
    public Integer call() {
        System.out.println("CPU: " + cpuModel() + ", " + Runtime.getRuntime().availableProcessors() + " cores, "
                + Parallel.threads() + " worker threads");
        System.out.println("SIMD: Vector API float species " + SimdSpecies.FLOAT.vectorBitSize() + "-bit ("
                + SimdSpecies.FLOAT.length() + " lanes)");
        System.out.println(DeviceReport.openBlasLine());
        DeviceReport.cudaLines().forEach(System.out::println);
        System.out.println("Backend: " + Backend.current().name());
        return 0;
    }

    private static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) return line.substring(line.indexOf(':') + 1).trim();
            }
        } catch (Exception ignored) {
            // not Linux, or unreadable: fall through
        }
        return System.getProperty("os.arch");
    }
}
