package org.realmjava.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import org.realmjava.trainer.qa.OpenQa;
import org.realmjava.trainer.qa.QaCheckpoint;

/**
 * {@code realm serve}: a fine-tuned checkpoint behind HTTP (Javalin on Jetty).
 * <ul>
 * <li>{@code POST /v1/ask {"question": "...", "k": 5}}: the answer, its probability and the evidence
 *     blocks (id, title, p(z|x), the span in its context);</li>
 * <li>{@code POST /v1/retrieve {"question": "...", "k": 5}}: the top k blocks only;</li>
 * <li>{@code GET /health}, {@code GET /metrics} (Prometheus text format), {@code GET /} (a page to ask from);</li>
 * <li>{@code POST /v1/admin/reload [{"checkpoint": "..."}]}: loads the checkpoint again (a run's
 *     newest step, or the one named) beside the current one and switches to it atomically.</li>
 * </ul>
 * Concurrent questions are answered in batches by one {@link AnswerService} per model generation;
 * when its queue is full a request gets 503 at once. Bad requests get a JSON error with a 4xx code.
 * A hot swap retires the old generation: what it has queued is answered, a request that reaches it
 * after the switch is handed to the new one, so none fails.
 */
public final class RealmServer implements AutoCloseable {
    /** What a server may be asked: limits of a request and of the answering queue. */
    public record Options(String host, int port, int maxBatch, int queueCapacity, int maxK, int maxQuestionChars, long maxBodyBytes) {
        public static Options defaults(String host, int port) {
            return new Options(host, port, 16, 64, 100, 1000, 64 * 1024);
        }
    }

    /** One loaded checkpoint and the service answering with it. */
    private record Generation(long number, Path checkpoint, AnswerService answers, Instant loadedAt) {}

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Options options;
    private final Path checkpoint;
    private final AtomicReference<Generation> current = new AtomicReference<>();
    private final AtomicLong generations = new AtomicLong();
    private final ReentrantLock reloading = new ReentrantLock();
    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Counter requests, reloads;
    private final Histogram latency, batchSize;
    private final Gauge inFlight, generationGauge, queueDepth;
    private final Javalin app;

    private RealmServer(Path checkpoint, Options options) {
        this.options = options;
        this.checkpoint = checkpoint;
        requests = Counter.builder().name("realm_requests_total").help("HTTP requests answered, by endpoint and status code")
                .labelNames("endpoint", "code").register(registry);
        reloads = Counter.builder().name("realm_reloads_total").help("hot swaps of the checkpoint, by result").labelNames("result").register(registry);
        latency = Histogram.builder().name("realm_request_duration_seconds").help("time from request to response, by endpoint")
                .labelNames("endpoint").classicOnly()
                .classicUpperBounds(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10).register(registry);
        batchSize = Histogram.builder().name("realm_batch_size").help("questions answered together in one batch").classicOnly()
                .classicUpperBounds(1, 2, 4, 8, 16, 32, 64).register(registry);
        inFlight = Gauge.builder().name("realm_requests_in_flight").help("requests being answered now").register(registry);
        generationGauge = Gauge.builder().name("realm_index_generation").help("the model and index generation answering (1 at start, +1 per hot swap)")
                .register(registry);
        queueDepth = Gauge.builder().name("realm_queue_depth").help("questions waiting for the model").register(registry);
        current.set(load(checkpoint));
        generationGauge.set(current.get().number());
        app = Javalin.create(config -> {
            config.jetty.host = options.host();
            config.jetty.port = options.port();
            config.http.maxRequestSize = options.maxBodyBytes();
            config.startup.showJavalinBanner = false;
            config.routes.get("/", ctx -> ctx.contentType("text/html; charset=utf-8").result(page()));
            config.routes.get("/health", ctx -> timed(ctx, "health", this::health));
            config.routes.get("/metrics", this::metrics);
            config.routes.post("/v1/ask", ctx -> answer(ctx, "ask", false));
            config.routes.post("/v1/retrieve", ctx -> answer(ctx, "retrieve", true));
            config.routes.post("/v1/admin/reload", ctx -> timed(ctx, "reload", this::reload));
            config.routes.exception(BadRequest.class, (e, ctx) -> error(ctx, e.status, e.getMessage()));
            config.routes.exception(HttpResponseException.class, (e, ctx) -> error(ctx, e.getStatus(), e.getMessage()));
            config.routes.exception(Exception.class, (e, ctx) -> error(ctx, 500, "internal error: " + e));
            config.routes.error(404, ctx -> { if (!isJsonError(ctx)) error(ctx, 404, "no such endpoint: " + ctx.method() + " " + ctx.path()); });
            config.routes.error(405, ctx -> { if (!isJsonError(ctx)) error(ctx, 405, "method not allowed: " + ctx.method() + " " + ctx.path()); });
        });
    }

    /** Loads the checkpoint and starts serving it. */
    public static RealmServer start(Path checkpoint, Options options) {
        RealmServer s = new RealmServer(checkpoint, options);
        s.app.start();
        return s;
    }

    /** The port bound (the one asked for, or the one chosen for port 0). */
    public int port() {
        return app.port();
    }

    /** The generation answering now (1 at start, +1 per hot swap). */
    public long generation() {
        return current.get().number();
    }

    private Generation load(Path dir) {
        OpenQa qa = QaCheckpoint.load(dir);
        AnswerService answers = new AnswerService(qa, options.maxBatch(), options.queueCapacity(), batchSize::observe);
        return new Generation(generations.incrementAndGet(), dir, answers, Instant.now());
    }

    // ---- requests

    /** A request the server refuses with a 4xx code and a one-line reason. */
    static final class BadRequest extends RuntimeException {
        final int status;

        BadRequest(int status, String message) {
            super(message);
            this.status = status;
        }
    }

    private record Question(String text, int k) {}

    /** The body as a JSON object, or a 400 naming what is wrong and what was expected (like). */
    private static JsonNode jsonObject(byte[] body, String like) {
        JsonNode n;
        try {
            n = JSON.readTree(body);
        } catch (IOException e) {
            String why = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
            throw new BadRequest(400, "the body is not valid JSON: " + why);
        }
        if (n == null || !n.isObject()) throw new BadRequest(400, "the body must be a JSON object like " + like);
        return n;
    }

    private Question parse(Context ctx, int maxK) {
        byte[] body = ctx.bodyAsBytes();
        if (body.length == 0) throw new BadRequest(400, "empty body: send JSON like {\"question\": \"...\", \"k\": 5}");
        JsonNode n = jsonObject(body, "{\"question\": \"...\", \"k\": 5}");
        JsonNode q = n.get("question");
        if (q == null || q.isNull()) throw new BadRequest(400, "missing \"question\"");
        if (!q.isTextual()) throw new BadRequest(400, "\"question\" must be a string");
        String text = q.asText().strip();
        if (text.isEmpty()) throw new BadRequest(400, "the question is empty");
        if (text.length() > options.maxQuestionChars()) {
            throw new BadRequest(400, "the question has " + text.length() + " characters; at most " + options.maxQuestionChars());
        }
        int k = current.get().answers().openQa().settings.k();
        JsonNode kn = n.get("k");
        if (kn != null && !kn.isNull()) {
            if (!kn.isIntegralNumber() || !kn.canConvertToInt()) throw new BadRequest(400, "\"k\" must be an integer");
            k = kn.asInt();
            if (k < 1 || k > maxK) throw new BadRequest(400, "\"k\" must be between 1 and " + maxK + ", got " + k);
        }
        var it = n.fieldNames();
        while (it.hasNext()) {
            String f = it.next();
            if (!f.equals("question") && !f.equals("k")) throw new BadRequest(400, "unknown field \"" + f + "\" (known: question, k)");
        }
        return new Question(text, k);
    }

    private void answer(Context ctx, String endpoint, boolean retrieveOnly) {
        long start = System.nanoTime();
        inFlight.inc();
        Question q;
        try {
            q = parse(ctx, options.maxK());
        } catch (RuntimeException e) {
            inFlight.dec();
            finish(ctx, endpoint, start, e);
            return;
        }
        ctx.future(() -> submit(q, retrieveOnly, 0).handle((answered, failure) -> {
            try {
                if (failure == null) {
                    ctx.contentType("application/json").result(retrieveOnly ? retrievalJson(q, (List<?>) answered.result(), answered.blocks())
                            : answerJson((OpenQa.Prediction) answered.result(), answered.blocks()));
                    record(endpoint, 200, start);
                } else {
                    finish(ctx, endpoint, start, failure instanceof CompletionException c && c.getCause() != null ? c.getCause() : failure);
                }
            } finally {
                inFlight.dec();
            }
            return null;
        }));
    }

    /** A result with the blocks of the generation that computed it (a hot swap may change the corpus meanwhile). */
    private record Answered(Object result, List<org.realmjava.trainer.corpus.Block> blocks) {}

    /** Submits to the current generation; a generation retired meanwhile hands the question to its successor. */
    private CompletableFuture<Answered> submit(Question q, boolean retrieveOnly, int attempt) {
        Generation g = current.get();
        int k = Math.min(q.k(), g.answers().openQa().blocks.size());
        CompletableFuture<?> f;
        try {
            f = retrieveOnly ? g.answers().submitRetrieve(q.text(), k) : g.answers().submit(q.text(), k);
        } catch (AnswerService.Retired e) {
            if (attempt > 8) return CompletableFuture.failedFuture(e);
            return submit(q, retrieveOnly, attempt + 1);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
        return f.<CompletableFuture<Answered>>handle((r, e) -> {
            Throwable cause = e instanceof CompletionException c && c.getCause() != null ? c.getCause() : e;
            if (cause instanceof AnswerService.Retired && attempt <= 8) return submit(q, retrieveOnly, attempt + 1);
            return e == null ? CompletableFuture.completedFuture(new Answered(r, g.answers().openQa().blocks)) : CompletableFuture.failedFuture(cause);
        }).thenCompose(Function.identity());
    }

    private void finish(Context ctx, String endpoint, long start, Throwable e) {
        int status;
        String message;
        if (e instanceof BadRequest b) {
            status = b.status;
            message = b.getMessage();
        } else if (e instanceof HttpResponseException h) {
            status = h.getStatus();
            message = h.getMessage();
        } else if (e instanceof AnswerService.Overloaded || e instanceof AnswerService.Retired) {
            status = 503;
            message = e.getMessage();
            ctx.header("Retry-After", "1");
        } else {
            status = 500;
            message = "internal error: " + e;
        }
        writeError(ctx, status, message);
        record(endpoint, status, start);
    }

    private void record(String endpoint, int status, long start) {
        requests.labelValues(endpoint, Integer.toString(status)).inc();
        latency.labelValues(endpoint).observe((System.nanoTime() - start) / 1e9);
    }

    /** Runs a small synchronous handler, counting it like the others. */
    private void timed(Context ctx, String endpoint, java.util.function.Consumer<Context> handler) {
        long start = System.nanoTime();
        inFlight.inc();
        try {
            handler.accept(ctx);
            record(endpoint, ctx.statusCode(), start);
        } catch (RuntimeException e) {
            finish(ctx, endpoint, start, e);
        } finally {
            inFlight.dec();
        }
    }

    private void health(Context ctx) {
        Generation g = current.get();
        ObjectNode n = JSON.createObjectNode().put("status", "ok").put("generation", g.number()).put("checkpoint", g.checkpoint().toString())
                .put("loaded_at", g.loadedAt().toString()).put("blocks", g.answers().openQa().blocks.size()).put("default_k", g.answers().openQa().settings.k())
                .put("queued", g.answers().queued());
        ctx.contentType("application/json").result(n.toString());
    }

    private void metrics(Context ctx) throws IOException {
        queueDepth.set(current.get().answers().queued());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrometheusTextFormatWriter.create().write(out, registry.scrape());
        ctx.contentType(PrometheusTextFormatWriter.CONTENT_TYPE).result(out.toByteArray());
    }

    private void reload(Context ctx) {
        Path target = checkpoint;
        byte[] body = ctx.bodyAsBytes();
        if (body.length > 0) {
            JsonNode n = jsonObject(body, "{\"checkpoint\": \"path\"} (or empty)");
            JsonNode c = n.get("checkpoint");
            if (c != null && !c.isNull()) {
                if (!c.isTextual() || c.asText().isBlank()) throw new BadRequest(400, "\"checkpoint\" must be a path");
                target = Path.of(c.asText());
            }
        }
        if (!Files.isDirectory(target)) throw new BadRequest(400, "no such checkpoint directory: " + target);
        if (!reloading.tryLock()) throw new BadRequest(409, "a reload is already running");
        try {
            long t0 = System.nanoTime();
            Generation next;
            try {
                next = load(target);
            } catch (RuntimeException e) {
                reloads.labelValues("failed").inc();
                throw new BadRequest(422, "could not load " + target + ": " + e.getMessage());
            }
            Generation old = current.getAndSet(next);
            generationGauge.set(next.number());
            reloads.labelValues("ok").inc();
            // the old generation answers what it has queued, then closes (off this request's thread)
            Thread.ofPlatform().name("realm-retire-" + old.number()).daemon(true).start(() -> old.answers().retire(600_000));
            ObjectNode out = JSON.createObjectNode().put("generation", next.number()).put("checkpoint", target.toString())
                    .put("previous_generation", old.number()).put("load_seconds", (System.nanoTime() - t0) / 1e9);
            ctx.contentType("application/json").result(out.toString());
        } finally {
            reloading.unlock();
        }
    }

    // ---- JSON

    private static String answerJson(OpenQa.Prediction p, List<org.realmjava.trainer.corpus.Block> blocks) {
        ObjectNode n = JSON.createObjectNode().put("question", p.question()).put("answer", p.answer()).put("probability", p.probability());
        ArrayNode ev = n.putArray("evidence");
        for (OpenQa.Evidence e : p.evidence()) {
            ObjectNode o = ev.addObject().put("block", e.block());
            if (e.block() < blocks.size()) o.put("id", blocks.get(e.block()).sourceId());
            o.put("title", e.title()).put("text", e.text()).put("retrieval_probability", e.retrievalProbability()).put("span", e.span())
                    .put("span_in_title", e.spanInTitle()).put("span_start", e.spanStart()).put("span_end", e.spanEnd())
                    .put("span_probability", e.spanProbability());
        }
        return n.toString();
    }

    private static String retrievalJson(Question q, List<?> hits, List<org.realmjava.trainer.corpus.Block> blocks) {
        ObjectNode n = JSON.createObjectNode().put("question", q.text());
        ArrayNode arr = n.putArray("blocks");
        for (Object o : hits) {
            AnswerService.Hit h = (AnswerService.Hit) o;
            ObjectNode b = arr.addObject().put("block", h.block());
            if (h.block() < blocks.size()) b.put("id", blocks.get(h.block()).sourceId());
            b.put("title", h.title()).put("text", h.text()).put("retrieval_probability", h.retrievalProbability()).put("score", h.score());
        }
        return n.toString();
    }

    private static final String JSON_ERROR = "realm.jsonError";

    private static boolean isJsonError(Context ctx) {
        return Boolean.TRUE.equals(ctx.attribute(JSON_ERROR));
    }

    private static void writeError(Context ctx, int status, String message) {
        ctx.attribute(JSON_ERROR, true);
        ctx.status(status).contentType("application/json").result(JSON.createObjectNode().put("error", message).put("status", status).toString());
    }

    private void error(Context ctx, int status, String message) {
        writeError(ctx, status, message);
        requests.labelValues(endpointOf(ctx), Integer.toString(status)).inc();
    }

    private static String endpointOf(Context ctx) {
        return switch (ctx.path()) {
            case "/v1/ask" -> "ask";
            case "/v1/retrieve" -> "retrieve";
            case "/v1/admin/reload" -> "reload";
            case "/health" -> "health";
            case "/metrics" -> "metrics";
            default -> "other";
        };
    }

    private static volatile String page;

    private static String page() throws IOException {
        if (page == null) {
            try (InputStream in = RealmServer.class.getResourceAsStream("index.html")) {
                if (in == null) throw new IOException("index.html is missing from the jar");
                page = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            }
        }
        return page;
    }

    /** Stops taking connections, answers what is queued, closes the index. */
    @Override
    public void close() {
        app.stop();
        current.get().answers().retire(60_000);
    }
}
