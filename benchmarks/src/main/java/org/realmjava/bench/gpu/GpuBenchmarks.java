package org.realmjava.bench.gpu;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.realmjava.mips.FloatMatrix;
import org.realmjava.mips.gpu.GpuFlatIndex;
import org.realmjava.nativebind.cuda.Cuda;
import org.realmjava.nativebind.cuda.CudaContext;
import org.realmjava.nativebind.cuda.DeviceBuffer;
import org.realmjava.nativebind.cuda.GpuInfo;
import org.realmjava.tensor.cuda.CudaAttention;

/**
 * GPU benchmarks of the custom kernels, with PyTorch on the same shapes in the same run when a
 * {@code python3} with {@code torch} is present (scripts/gpu/torch_bench.py). Prints a markdown
 * table (device, kernel, size, time, TFLOP/s or GB/s, % of the device's peak, PyTorch time, ratio)
 * and writes it to the file given as the first argument.
 *
 * <p>Times are medians of repeated runs, each ended by a device synchronize, measured end to end
 * on the host (so a MIPS search includes its query upload and result download).
 *
 * <p>Usage: GpuBenchmarks OUT.md [--n 10000000] [--torch-script path] [--quick]
 */
public final class GpuBenchmarks {
    private record Row(String kernel, String size, double ms, String rate, String peak, double torchMs) {}

    private final CudaContext ctx;
    private final GpuInfo gpu;
    private final List<Row> rows = new ArrayList<>();
    private final int reps;

    private GpuBenchmarks(CudaContext ctx, int reps) {
        this.ctx = ctx;
        this.gpu = ctx.gpu();
        this.reps = reps;
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: GpuBenchmarks OUT.md [--n N] [--torch-script PATH] [--quick]");
            System.exit(2);
        }
        Path out = Path.of(args[0]);
        long n = 10_000_000;
        Path torchScript = null;
        boolean quick = false;
        for (int i = 1; i < args.length; i++) {
            switch (args[i]) {
                case "--n" -> n = Long.parseLong(args[++i]);
                case "--torch-script" -> torchScript = Path.of(args[++i]);
                case "--quick" -> quick = true;
                default -> {
                    System.err.println("unknown argument " + args[i]);
                    System.exit(2);
                }
            }
        }
        if (!Cuda.available()) {
            System.err.println("GPU benchmarks not run: " + Cuda.status().reason());
            System.exit(3);
        }
        CudaContext ctx = Cuda.context();
        long free = ctx.gpu().totalMemory();
        // f32 database + headroom: shrink N on small GPUs rather than fail
        while (n * 128 * 4 * 2 > free && n > 1_000_000) n /= 2;
        GpuBenchmarks b = new GpuBenchmarks(ctx, quick ? 5 : 20);
        Map<String, String> torch = b.runTorch(torchScript, n, quick);
        b.mips(n, torch);
        b.attention(torch);
        b.crossEntropyAndMarginal(torch);
        b.gemm(torch);
        String table = b.table(torch);
        System.out.println(table);
        Files.writeString(out, table, StandardCharsets.UTF_8);
    }

    private double median(Runnable r) {
        for (int i = 0; i < 3; i++) r.run();
        ctx.synchronize();
        double[] t = new double[reps];
        for (int i = 0; i < reps; i++) {
            long t0 = System.nanoTime();
            r.run();
            ctx.synchronize();
            t[i] = (System.nanoTime() - t0) / 1e6;
        }
        Arrays.sort(t);
        return t[reps / 2];
    }

    private static String pct(double value, double peak) {
        return peak <= 0 ? "?" : String.format(Locale.ROOT, "%.0f%%", 100 * value / peak);
    }

    private static double torchMs(Map<String, String> torch, String key) {
        return torch != null && torch.containsKey(key) ? Double.parseDouble(torch.get(key)) : Double.NaN;
    }

    private DeviceBuffer uniform(long count, long seed) {
        DeviceBuffer b = ctx.alloc(4 * count);
        ctx.launch(ctx.kernel("elementwise", "fill_uniform"), (int) Math.min(65_535, (count + 255) / 256), 1, 256, 0, b, count, seed);
        return b;
    }

    private DeviceBuffer toBf16(DeviceBuffer f32, long count) {
        DeviceBuffer h = ctx.alloc(2 * count);
        ctx.launch(ctx.kernel("elementwise", "cast_f32_bf16"), (int) Math.min(65_535, (count + 255) / 256), 1, 256, 0, f32, h, count);
        return h;
    }

    private void mips(long n, Map<String, String> torch) {
        int d = 128, k = 10;
        Random rng = new Random(7);
        for (boolean bf16 : new boolean[] {true, false}) {
            DeviceBuffer f = uniform(n * d, 1);
            DeviceBuffer data = bf16 ? toBf16(f, n * d) : f;
            if (bf16) f.close();
            try (GpuFlatIndex index = GpuFlatIndex.wrap(ctx, data, n, d, bf16)) {
                for (int q : new int[] {1, 1024}) {
                    float[] qs = new float[q * d];
                    for (int i = 0; i < qs.length; i++) qs[i] = rng.nextFloat() * 2 - 1;
                    FloatMatrix queries = new FloatMatrix(qs, q, d);
                    double ms = median(() -> index.search(queries, k, null));
                    String t = bf16 ? "bf16" : "f32";
                    String size = String.format(Locale.ROOT, "%,d x %d %s, Q=%d, k=%d", n, d, t, q, k);
                    if (q == 1) {
                        double gbs = n * d * (bf16 ? 2.0 : 4.0) / (ms / 1e3) / 1e9;
                        rows.add(new Row("MIPS top-k (fused scan)", size, ms, String.format(Locale.ROOT, "%.0f GB/s", gbs), pct(gbs, gpu.peakBandwidthGBs()),
                                torchMs(torch, "mips_" + t + "_q" + q)));
                    } else {
                        double tf = 2.0 * n * d * q / (ms / 1e3) / 1e12;
                        rows.add(new Row("MIPS top-k (cuBLAS tiles + select)", size, ms, String.format(Locale.ROOT, "%.1f TFLOP/s, %.0f q/s", tf, q / (ms / 1e3)),
                                pct(tf, gpu.peakTflops(bf16)), torchMs(torch, "mips_" + t + "_q" + q)));
                    }
                }
            }
        }
    }

    private void attention(Map<String, String> torch) {
        CudaAttention att = new CudaAttention(ctx);
        for (int d : new int[] {64, 128}) {
            int b = 16, h = 768 / d, l = 512;
            long count = (long) b * h * l * d;
            try (DeviceBuffer qf = uniform(count, 11); DeviceBuffer kf = uniform(count, 12); DeviceBuffer vf = uniform(count, 13);
                 DeviceBuffer gf = uniform(count, 14); DeviceBuffer q = toBf16(qf, count); DeviceBuffer k = toBf16(kf, count);
                 DeviceBuffer v = toBf16(vf, count); DeviceBuffer go = toBf16(gf, count); DeviceBuffer o = ctx.alloc(2 * count);
                 DeviceBuffer lse = ctx.alloc(4L * b * h * l); DeviceBuffer dvec = ctx.alloc(4L * b * h * l);
                 DeviceBuffer dq = ctx.alloc(4 * count); DeviceBuffer dk = ctx.alloc(4 * count); DeviceBuffer dv = ctx.alloc(4 * count)) {
                float scale = (float) (1 / Math.sqrt(d));
                double fwd = median(() -> att.forward(q, k, v, null, b, h, l, l, d, scale, true, o, lse));
                double both = median(() -> {
                    att.forward(q, k, v, null, b, h, l, l, d, scale, true, o, lse);
                    att.backward(q, k, v, null, o, lse, go, b, h, l, l, d, scale, true, dvec, dq, dk, dv);
                });
                double flopsFwd = 4.0 * b * h * l * (double) l * d;
                String size = String.format(Locale.ROOT, "B=%d H=%d L=%d D=%d bf16", b, h, l, d);
                rows.add(new Row("attention forward", size, fwd, tflops(flopsFwd, fwd), pct(flopsFwd / fwd / 1e9, gpu.peakTflops(true)),
                        torchMs(torch, "sdpa_fwd_d" + d)));
                rows.add(new Row("attention forward+backward", size, both, tflops(3.5 * flopsFwd, both), pct(3.5 * flopsFwd / both / 1e9, gpu.peakTflops(true)),
                        torchMs(torch, "sdpa_fwdbwd_d" + d)));
            }
        }
    }

    private static String tflops(double flops, double ms) {
        return String.format(Locale.ROOT, "%.1f TFLOP/s", flops / (ms / 1e3) / 1e12);
    }

    private void crossEntropyAndMarginal(Map<String, String> torch) {
        var loss = new org.realmjava.tensor.cuda.CudaRealmLoss(ctx);
        Random rng = new Random(3);
        int b = 512, z = 9, t = 20;
        float[] f = new float[b * z], ll = new float[b * z * t], g = new float[b * t];
        for (int i = 0; i < f.length; i++) f[i] = (float) rng.nextGaussian();
        for (int i = 0; i < ll.length; i++) ll[i] = (float) -Math.abs(rng.nextGaussian());
        Arrays.fill(g, -1f / (b * t));
        double ms = median(() -> loss.marginal(f, ll, null, b, z, t, g));
        rows.add(new Row("REALM marginal likelihood fwd+bwd (incl. copies)", "B=512 Z=9 T=20", ms, "-", "-", Double.NaN));
        int n = 4096, hs = 384, v = 30522;
        float[] hidden = new float[n * hs], emb = new float[v * hs];
        int[] y = new int[n];
        for (int i = 0; i < hidden.length; i++) hidden[i] = (float) rng.nextGaussian();
        for (int i = 0; i < emb.length; i++) emb[i] = (float) rng.nextGaussian() * 0.05f;
        for (int i = 0; i < n; i++) y[i] = rng.nextInt(v);
        double ce = median(() -> loss.crossEntropy(hidden, emb, y, n, hs, v, 8192));
        double flops = 4 * 2.0 * n * hs * v;
        rows.add(new Row("fused vocab cross-entropy fwd+bwd (incl. copies)", "N=4096 h=384 V=30522 f32", ce, tflops(flops, ce), pct(flops / ce / 1e9, gpu.peakTflops(false)),
                torchMs(torch, "ce_fwdbwd")));
    }

    private void gemm(Map<String, String> torch) {
        int s = 8192;
        long count = (long) s * s;
        try (DeviceBuffer a = uniform(count, 21); DeviceBuffer b = uniform(count, 22); DeviceBuffer c = ctx.alloc(4 * count);
             DeviceBuffer a16 = toBf16(a, count); DeviceBuffer b16 = toBf16(b, count)) {
            var blas = ctx.cublas();
            double f32 = median(() -> blas.sgemm(false, false, s, s, s, 1f, a.address(), s, b.address(), s, 0f, c.address(), s));
            double bf = median(() -> blas.gemmBf16(false, false, s, s, s, 1f, a16.address(), s, b16.address(), s, 0f, c.address(), s));
            double flops = 2.0 * s * s * s;
            rows.add(new Row("cuBLAS SGEMM (reference)", s + "^3 f32", f32, tflops(flops, f32), pct(flops / f32 / 1e9, gpu.peakTflops(false)), torchMs(torch, "mm_f32")));
            rows.add(new Row("cuBLAS GEMM bf16 -> f32 (reference)", s + "^3 bf16", bf, tflops(flops, bf), pct(flops / bf / 1e9, gpu.peakTflops(true)), torchMs(torch, "mm_bf16")));
        }
    }

    private Map<String, String> runTorch(Path script, long n, boolean quick) {
        if (script == null || !Files.isRegularFile(script)) {
            System.err.println("PyTorch comparison skipped: no torch_bench.py given");
            return null;
        }
        try {
            Path json = Files.createTempFile("torch", ".tsv");
            List<String> cmd = new ArrayList<>(List.of("python3", script.toString(), "--n", Long.toString(n), "--out", json.toString()));
            if (quick) cmd.add("--quick");
            Process p = new ProcessBuilder(cmd).inheritIO().start();
            if (!p.waitFor(20, TimeUnit.MINUTES) || p.exitValue() != 0) {
                System.err.println("PyTorch comparison skipped: torch_bench.py exited with " + (p.isAlive() ? "a timeout" : p.exitValue()));
                p.destroyForcibly();
                return null;
            }
            // the script writes "name<TAB>value" lines (no JSON library needed in the bundle)
            Map<String, String> node = new LinkedHashMap<>();
            for (String line : Files.readAllLines(json, StandardCharsets.UTF_8)) {
                int tab = line.indexOf('\t');
                if (tab > 0) node.put(line.substring(0, tab), line.substring(tab + 1));
            }
            Files.deleteIfExists(json);
            return node;
        } catch (IOException e) {
            System.err.println("PyTorch comparison skipped: " + e.getMessage());
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    private String table(Map<String, String> torch) {
        StringBuilder sb = new StringBuilder();
        sb.append("## ").append(gpu.name()).append(", ").append(LocalDate.now()).append("\n\n");
        sb.append(String.format(Locale.ROOT, "Device: %s; driver CUDA %s, runtime %s; kernels: %s. Peaks used: %.0f GB/s memory, %.1f TFLOP/s f32, %.0f TFLOP/s bf16 tensor.%n",
                gpu.describe(), org.realmjava.nativebind.cuda.CudaStatus.version(Cuda.status().driverVersion()),
                org.realmjava.nativebind.cuda.CudaStatus.version(Cuda.status().runtimeVersion()), ctx.moduleOrigin("mips_topk"),
                gpu.peakBandwidthGBs(), gpu.peakTflops(false), gpu.peakTflops(true)));
        sb.append(torch == null ? "PyTorch: not available in this run.\n\n" : "PyTorch: " + torch.getOrDefault("version", "?") + " on the same device, same shapes.\n\n");
        sb.append("| kernel | size | time (ms, median) | throughput | % of peak | PyTorch (ms) | speed vs PyTorch |\n|---|---|---|---|---|---|---|\n");
        for (Row r : rows) {
            String tm = Double.isNaN(r.torchMs()) ? "-" : String.format(Locale.ROOT, "%.3f", r.torchMs());
            String ratio = Double.isNaN(r.torchMs()) ? "-" : String.format(Locale.ROOT, "%.2fx", r.torchMs() / r.ms());
            sb.append(String.format(Locale.ROOT, "| %s | %s | %.3f | %s | %s | %s | %s |%n", r.kernel(), r.size(), r.ms(), r.rate(), r.peak(), tm, ratio));
        }
        return sb.toString();
    }
}
