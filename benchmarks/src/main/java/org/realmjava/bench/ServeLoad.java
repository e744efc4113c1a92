package org.realmjava.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.realmjava.trainer.qa.QaExample;
import org.realmjava.trainer.qa.QaReader;

/**
 * A closed-loop load test of {@code realm serve} on loopback: C client threads each send
 * {@code POST /v1/ask} one after another (a question from the file, round robin) until the
 * request count or the duration is reached; prints throughput, p50/p95/p99 latency and every
 * response that was not 200.
 *
 * <pre>
 * ServeLoad URL questions.jsonl levels C1,C2,.. REQUESTS MAX_SECONDS K      latency at each concurrency
 * ServeLoad URL questions.jsonl swaps C SECONDS SWAPS K CHECKPOINT_DIR     hot swaps under load (reload the checkpoint SWAPS times)
 * ServeLoad URL questions.jsonl malformed C SECONDS K                     200 bad requests of 10 kinds beside the load
 * ServeLoad URL questions.jsonl soak C SECONDS K PID                      RSS of process PID every 10 s under load
 * </pre>
 * Each mode prints markdown rows and ends with one line of JSON.
 */
public final class ServeLoad {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    private ServeLoad() {}

    /** The outcome of one run: latencies of the 200s (seconds), and the other responses by code. */
    record Outcome(double seconds, double[] latencies, int errors, String errorCodes) {
        double quantile(double q) {
            if (latencies.length == 0) return Double.NaN;
            double[] s = latencies.clone();
            Arrays.sort(s);
            return s[Math.min(s.length - 1, (int) Math.ceil(q * s.length) - 1)];
        }
    }

    static HttpResponse<String> post(String url, String body) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(120)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** C threads asking until `requests` are sent or `maxSeconds` pass. */
    static Outcome load(String base, List<String> questions, int c, int requests, double maxSeconds, int k) throws InterruptedException {
        AtomicInteger next = new AtomicInteger();
        ConcurrentLinkedQueue<Double> lat = new ConcurrentLinkedQueue<>();
        ConcurrentLinkedQueue<String> bad = new ConcurrentLinkedQueue<>();
        long start = System.nanoTime(), deadline = start + (long) (maxSeconds * 1e9);
        CountDownLatch done = new CountDownLatch(c);
        for (int t = 0; t < c; t++) {
            Thread.ofPlatform().daemon(true).start(() -> {
                try {
                    for (int i; (i = next.getAndIncrement()) < requests && System.nanoTime() < deadline; ) {
                        String body = JSON.createObjectNode().put("question", questions.get(i % questions.size())).put("k", k).toString();
                        long t0 = System.nanoTime();
                        try {
                            HttpResponse<String> r = post(base + "/v1/ask", body);
                            if (r.statusCode() == 200) lat.add((System.nanoTime() - t0) / 1e9);
                            else bad.add(Integer.toString(r.statusCode()));
                        } catch (IOException e) {
                            bad.add("io:" + e.getClass().getSimpleName());
                        }
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    done.countDown();
                }
            });
        }
        done.await();
        double seconds = (System.nanoTime() - start) / 1e9;
        double[] l = lat.stream().mapToDouble(Double::doubleValue).toArray();
        return new Outcome(seconds, l, bad.size(), String.join(",", new java.util.TreeSet<>(bad)));
    }

    public static void main(String[] args) throws Exception {
        String base = args[0].replaceAll("/$", "");
        List<String> questions = QaReader.read(Path.of(args[1]), QaReader.guessFormat(Path.of(args[1]))).stream().map(QaExample::question).toList();
        String mode = args[2];
        switch (mode) {
            case "levels" -> levels(base, questions, args);
            case "swaps" -> swaps(base, questions, args);
            case "malformed" -> malformed(base, questions, args);
            case "soak" -> soak(base, questions, args);
            default -> throw new IllegalArgumentException("mode must be levels, swaps, malformed or soak, not " + mode);
        }
    }

    private static void levels(String base, List<String> questions, String[] a) throws InterruptedException {
        int requests = Integer.parseInt(a[4]), k = Integer.parseInt(a[6]);
        double maxSeconds = Double.parseDouble(a[5]);
        load(base, questions, 2, 20, 60, k); // warm-up: JIT and the page cache
        // the HTTP round trip alone: GET /health (no model), median of 200
        double[] rtt = new double[200];
        for (int i = 0; i < rtt.length; i++) {
            long t0 = System.nanoTime();
            try {
                HTTP.send(HttpRequest.newBuilder(URI.create(base + "/health")).build(), HttpResponse.BodyHandlers.ofString());
            } catch (IOException e) {
                throw new IllegalStateException("GET /health failed: " + e);
            }
            rtt[i] = (System.nanoTime() - t0) / 1e9;
        }
        Arrays.sort(rtt);
        var out = JSON.createArrayNode();
        out.addObject().put("health_rtt_median_s", rtt[rtt.length / 2]);
        System.out.println("| concurrency | requests | seconds | questions/s | p50 ms | p95 ms | p99 ms | errors |");
        System.out.println("|---|---|---|---|---|---|---|---|");
        for (String cs : a[3].split(",")) {
            int c = Integer.parseInt(cs);
            Outcome o = load(base, questions, c, requests, maxSeconds, k);
            System.out.printf(Locale.ROOT, "| %d | %d | %.1f | %.1f | %.0f | %.0f | %.0f | %d%s |%n", c, o.latencies().length + o.errors(), o.seconds(),
                    o.latencies().length / o.seconds(), 1e3 * o.quantile(0.5), 1e3 * o.quantile(0.95), 1e3 * o.quantile(0.99), o.errors(),
                    o.errors() == 0 ? "" : " (" + o.errorCodes() + ")");
            out.addObject().put("concurrency", c).put("requests", o.latencies().length + o.errors()).put("qps", o.latencies().length / o.seconds())
                    .put("p50_s", o.quantile(0.5)).put("p95_s", o.quantile(0.95)).put("p99_s", o.quantile(0.99)).put("errors", o.errors());
        }
        System.out.println(out);
    }

    private static void swaps(String base, List<String> questions, String[] a) throws Exception {
        int c = Integer.parseInt(a[3]), swaps = Integer.parseInt(a[5]), k = Integer.parseInt(a[6]);
        double seconds = Double.parseDouble(a[4]);
        String body = a.length > 7 ? JSON.createObjectNode().put("checkpoint", a[7]).toString() : "";
        AtomicInteger swapFailures = new AtomicInteger();
        AtomicLong swapMillis = new AtomicLong();
        Thread swapper = Thread.ofPlatform().daemon(true).start(() -> {
            try {
                for (int i = 0; i < swaps; i++) {
                    Thread.sleep((long) (seconds * 1000 / (swaps + 1)));
                    long t0 = System.nanoTime();
                    HttpResponse<String> r = post(base + "/v1/admin/reload", body);
                    swapMillis.addAndGet((System.nanoTime() - t0) / 1_000_000);
                    if (r.statusCode() != 200) {
                        swapFailures.incrementAndGet();
                        System.err.println("reload: " + r.statusCode() + " " + r.body());
                    }
                }
            } catch (Exception e) {
                swapFailures.incrementAndGet();
                System.err.println("reload: " + e);
            }
        });
        Outcome o = load(base, questions, c, Integer.MAX_VALUE, seconds, k);
        swapper.join();
        System.out.printf(Locale.ROOT, "| %d | %d | %.1f | %.1f | %.0f | %.0f | %d | %d | %.1f |%n", c, o.latencies().length + o.errors(), o.seconds(),
                o.latencies().length / o.seconds(), 1e3 * o.quantile(0.5), 1e3 * o.quantile(0.99), swaps - swapFailures.get(), o.errors(),
                swapMillis.get() / 1e3 / Math.max(1, swaps));
        System.out.println(JSON.createObjectNode().put("requests", o.latencies().length + o.errors()).put("errors", o.errors())
                .put("swaps_ok", swaps - swapFailures.get()).put("swaps", swaps).put("mean_swap_s", swapMillis.get() / 1e3 / Math.max(1, swaps)));
    }

    /** Ten kinds of bad request, each answered 4xx with a JSON error; the good requests beside them all 200. */
    private static void malformed(String base, List<String> questions, String[] a) throws Exception {
        int c = Integer.parseInt(a[3]), k = Integer.parseInt(a[5]);
        double seconds = Double.parseDouble(a[4]);
        String[][] kinds = {
            {"/v1/ask", "{not json"}, {"/v1/ask", ""}, {"/v1/ask", "[1,2,3]"}, {"/v1/ask", "{\"k\": 5}"}, {"/v1/ask", "{\"question\": 7}"},
            {"/v1/ask", "{\"question\": \"  \"}"}, {"/v1/ask", "{\"question\": \"" + "why ".repeat(400) + "\"}"}, {"/v1/retrieve", "{\"question\": \"why\", \"k\": 0}"},
            {"/v1/ask", "{\"question\": \"why\", \"k\": \"many\"}"}, {"/v1/ask", "{\"question\": \"" + "x".repeat(70_000) + "\"}"},
        };
        AtomicInteger wrong = new AtomicInteger(), sent = new AtomicInteger();
        java.util.Map<String, Integer> codes = new java.util.concurrent.ConcurrentSkipListMap<>();
        Thread bad = Thread.ofPlatform().daemon(true).start(() -> {
            for (int i = 0; i < 200; i++) {
                String[] kind = kinds[i % kinds.length];
                try {
                    HttpResponse<String> r = post(base + kind[0], kind[1]);
                    sent.incrementAndGet();
                    codes.merge(Integer.toString(r.statusCode()), 1, Integer::sum);
                    boolean jsonError = r.body().startsWith("{") && JSON.readTree(r.body()).has("error");
                    if (r.statusCode() < 400 || r.statusCode() >= 500 || !jsonError) {
                        wrong.incrementAndGet();
                        System.err.println("bad request kind " + (i % kinds.length) + ": " + r.statusCode() + " " + r.body());
                    }
                    Thread.sleep((long) (seconds * 1000 / 250));
                } catch (Exception e) {
                    wrong.incrementAndGet();
                    System.err.println("bad request kind " + (i % kinds.length) + ": " + e);
                }
            }
        });
        Outcome o = load(base, questions, c, Integer.MAX_VALUE, seconds, k);
        bad.join();
        HttpResponse<String> health = HTTP.send(HttpRequest.newBuilder(URI.create(base + "/health")).build(), HttpResponse.BodyHandlers.ofString());
        System.out.printf(Locale.ROOT, "| %d | %s | %d | %d | %d | %d |%n", sent.get(), codes, wrong.get(), o.latencies().length + o.errors(), o.errors(), health.statusCode());
        System.out.println(JSON.createObjectNode().put("bad_sent", sent.get()).put("bad_not_4xx_json", wrong.get()).put("good", o.latencies().length)
                .put("good_errors", o.errors()).put("health", health.statusCode()));
    }

    /** Resident memory of the server every 10 s while C threads ask for SECONDS. */
    private static void soak(String base, List<String> questions, String[] a) throws Exception {
        int c = Integer.parseInt(a[3]), k = Integer.parseInt(a[5]);
        double seconds = Double.parseDouble(a[4]);
        long pid = Long.parseLong(a[6]);
        List<long[]> samples = new ArrayList<>();
        long start = System.nanoTime();
        Thread sampler = Thread.ofPlatform().daemon(true).start(() -> {
            try {
                while (true) {
                    samples.add(new long[] {(System.nanoTime() - start) / 1_000_000_000L, rssKb(pid)});
                    Thread.sleep(10_000);
                }
            } catch (InterruptedException | IOException e) {
                // stopped
            }
        });
        Outcome o = load(base, questions, c, Integer.MAX_VALUE, seconds, k);
        sampler.interrupt();
        sampler.join();
        samples.add(new long[] {(long) o.seconds(), rssKb(pid)});
        long first = samples.get(0)[1], max = samples.stream().mapToLong(s -> s[1]).max().orElse(0), last = samples.get(samples.size() - 1)[1];
        // memory after the first minute (warm-up) against memory at the end: steady if it stops growing
        long afterMinute = samples.stream().filter(s -> s[0] >= 60).mapToLong(s -> s[1]).findFirst().orElse(first);
        System.out.printf(Locale.ROOT, "| %d | %.0f | %d | %d | %.0f | %.0f | %.0f | %.0f |%n", c, o.seconds(), o.latencies().length, o.errors(),
                first / 1024.0, afterMinute / 1024.0, last / 1024.0, max / 1024.0);
        StringBuilder trace = new StringBuilder();
        for (long[] s : samples) trace.append(s[0]).append("s:").append(s[1] / 1024).append("MB ");
        System.err.println("RSS: " + trace);
        System.out.println(JSON.createObjectNode().put("requests", o.latencies().length + o.errors()).put("errors", o.errors())
                .put("rss_start_mb", first / 1024.0).put("rss_after_1min_mb", afterMinute / 1024.0).put("rss_end_mb", last / 1024.0).put("rss_max_mb", max / 1024.0));
    }

    private static long rssKb(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
        throw new IOException("no VmRSS for process " + pid);
    }
}
