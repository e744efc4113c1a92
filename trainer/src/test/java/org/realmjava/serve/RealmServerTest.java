package org.realmjava.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.realmjava.Realm;
import org.realmjava.trainer.finetune.TinyQa;
import org.realmjava.trainer.qa.OpenQa;
import org.realmjava.trainer.qa.QaCheckpoint;

/**
 * realm serve on a tiny fine-tuned checkpoint: answers and retrievals over HTTP equal the library's,
 * every kind of bad request gets its 4xx JSON error and the server stays healthy, concurrent
 * questions are answered (and batched) with the same answers as one at a time, a hot swap under
 * load fails no request, a full queue refuses with 503, and /metrics counts all of it.
 */
class RealmServerTest {
    @TempDir
    static Path dir;

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static RealmServer server;
    private static String base;

    private static final String[][] FACTS = TinyQa.FACTS;
    static final List<String> QUESTIONS = List.of("What is the capital of Portugal?", "Who climbed Everest?", "Where does the Danube flow?",
            "When did Curie win a prize?", "Which river is in Vienna?", "capital of Austria");

    /** A QA checkpoint: a few fine-tuning steps of a tiny random BERT on six facts (answers need not be right, only the same everywhere). */
    static Path checkpoint(Path d, String name, int steps) throws IOException {
        return TinyQa.checkpoint(d, name, steps);
    }

    @BeforeAll
    static void start() throws IOException {
        Path ck = checkpoint(dir, "qa", 4);
        server = RealmServer.start(ck, new RealmServer.Options("127.0.0.1", 0, 4, 64, 100, 200, 4096));
        base = "http://127.0.0.1:" + server.port();
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
    }

    static HttpResponse<String> send(String method, String path, String body) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path));
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) b.header("Content-Type", "application/json");
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static JsonNode ask(String question, int k) throws IOException, InterruptedException {
        HttpResponse<String> r = send("POST", "/v1/ask", JSON.createObjectNode().put("question", question).put("k", k).toString());
        assertEquals(200, r.statusCode(), r.body());
        return JSON.readTree(r.body());
    }

    @Test
    void answersAsTheLibraryDoes() throws Exception {
        JsonNode a = ask("What is the capital of Portugal?", 2);
        OpenQa.Prediction p;
        try (Realm realm = Realm.open(dir.resolve("qa"))) {
            p = realm.ask("What is the capital of Portugal?", 2);
        }
        assertEquals(p.answer(), a.get("answer").asText());
        assertEquals(p.probability(), a.get("probability").asDouble(), 1e-12);
        assertEquals(2, a.get("evidence").size());
        for (int i = 0; i < 2; i++) {
            JsonNode e = a.get("evidence").get(i);
            assertEquals(p.evidence().get(i).block(), e.get("block").asInt());
            assertEquals(p.evidence().get(i).title(), e.get("title").asText());
            assertTrue(e.get("id").asText().startsWith("d"));
        }
        // the default k is the checkpoint's (3), and k above the corpus is clamped to it
        HttpResponse<String> d = send("POST", "/v1/ask", "{\"question\": \"Who climbed Everest?\"}");
        assertEquals(3, JSON.readTree(d.body()).get("evidence").size(), d.body());
        assertEquals(FACTS.length, ask("Who climbed Everest?", 50).get("evidence").size());

        HttpResponse<String> r = send("POST", "/v1/retrieve", "{\"question\": \"What is the capital of Portugal?\", \"k\": 4}");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode blocks = JSON.readTree(r.body()).get("blocks");
        assertEquals(4, blocks.size());
        double sum = 0;
        for (int i = 0; i < 4; i++) {
            sum += blocks.get(i).get("retrieval_probability").asDouble();
            if (i > 0) assertTrue(blocks.get(i).get("score").asDouble() <= blocks.get(i - 1).get("score").asDouble(), "best first");
        }
        assertEquals(1.0, sum, 1e-6, "p(z|x) over the k blocks");
        assertEquals(a.get("evidence").get(0).get("block").asInt(), blocks.get(0).get("block").asInt(), "ask reads what retrieve returns");

        HttpResponse<String> page = send("GET", "/", null);
        assertEquals(200, page.statusCode());
        assertTrue(page.body().contains("/v1/ask") && page.headers().firstValue("Content-Type").orElse("").startsWith("text/html"));
    }

    @Test
    void badRequestsGetTheirErrorAndTheServerStaysHealthy() throws Exception {
        String longQuestion = "why ".repeat(60);
        String[][] cases = {
            {"POST", "/v1/ask", "{not json", "400", "not valid JSON"},
            {"POST", "/v1/ask", "", "400", "empty body"},
            {"POST", "/v1/ask", "[1, 2]", "400", "JSON object"},
            {"POST", "/v1/ask", "{\"k\": 3}", "400", "missing \"question\""},
            {"POST", "/v1/ask", "{\"question\": 42}", "400", "must be a string"},
            {"POST", "/v1/ask", "{\"question\": \"   \"}", "400", "empty"},
            {"POST", "/v1/ask", "{\"question\": \"" + longQuestion + "\"}", "400", "at most 200"},
            {"POST", "/v1/ask", "{\"question\": \"why?\", \"k\": 0}", "400", "between 1 and 100"},
            {"POST", "/v1/ask", "{\"question\": \"why?\", \"k\": 101}", "400", "between 1 and 100"},
            {"POST", "/v1/retrieve", "{\"question\": \"why?\", \"k\": \"five\"}", "400", "must be an integer"},
            {"POST", "/v1/ask", "{\"question\": \"why?\", \"top\": 3}", "400", "unknown field"},
            {"POST", "/v1/ask", "{\"question\": \"" + "x".repeat(5000) + "\"}", "413", ""},
            {"GET", "/v1/nothing", null, "404", "not found"},
            {"GET", "/v1/ask", null, "404", "not found"},
            {"POST", "/v1/admin/reload", "{\"checkpoint\": \"/no/such/dir\"}", "400", "no such checkpoint"},
        };
        for (int round = 0; round < 2; round++) {
            for (String[] c : cases) {
                HttpResponse<String> r = send(c[0], c[1], c[2]);
                assertEquals(Integer.parseInt(c[3]), r.statusCode(), c[0] + " " + c[1] + " " + c[2] + ": " + r.body());
                JsonNode n = JSON.readTree(r.body());
                assertTrue(n.get("error").asText().contains(c[4]), r.body());
                assertEquals(Integer.parseInt(c[3]), n.get("status").asInt());
            }
        }
        assertEquals(200, send("GET", "/health", null).statusCode());
        ask("What is the capital of Portugal?", 2);
        String metrics = send("GET", "/metrics", null).body();
        assertTrue(metrics.contains("realm_requests_total{code=\"400\",endpoint=\"ask\"}"), metrics);
        assertTrue(metrics.contains("realm_requests_total{code=\"413\",endpoint=\"ask\"}"), metrics);
        assertTrue(metrics.contains("realm_request_duration_seconds_bucket"), metrics);
        assertTrue(metrics.contains("realm_index_generation"), metrics);
    }

    /** Concurrent questions, with a hot swap in the middle: every request answered, answers as one at a time. */
    @Test
    void concurrentQuestionsAndAHotSwapFailNothing() throws Exception {
        List<String> expected = new ArrayList<>();
        for (String q : QUESTIONS) expected.add(ask(q, 2).get("answer").asText());
        long before = server.generation();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<String>> answers = new ArrayList<>();
            for (int i = 0; i < 96; i++) {
                String q = QUESTIONS.get(i % QUESTIONS.size());
                answers.add(pool.submit(() -> ask(q, 2).get("answer").asText()));
                if (i == 40) {
                    HttpResponse<String> r = send("POST", "/v1/admin/reload", "");
                    assertEquals(200, r.statusCode(), r.body());
                }
            }
            for (int i = 0; i < answers.size(); i++) assertEquals(expected.get(i % QUESTIONS.size()), answers.get(i).get(), "question " + i);
        } finally {
            pool.shutdown();
        }
        assertEquals(before + 1, server.generation());
        JsonNode h = JSON.readTree(send("GET", "/health", null).body());
        assertEquals(before + 1, h.get("generation").asLong());
        String metrics = send("GET", "/metrics", null).body();
        assertTrue(metrics.contains("realm_reloads_total{result=\"ok\"}"), metrics);
        assertFalse(metrics.contains("code=\"500\"") || metrics.contains("code=\"503\""), metrics);
    }

    /** A full queue refuses at once instead of queueing without bound. */
    @Test
    void aFullQueueRefuses() {
        OpenQa qa = QaCheckpoint.load(dir.resolve("qa"));
        int refused = 0, taken = 0;
        try (AnswerService s = new AnswerService(qa, 1, 2, n -> {})) {
            List<java.util.concurrent.CompletableFuture<OpenQa.Prediction>> pending = new ArrayList<>();
            for (int i = 0; i < 10_000 && refused == 0; i++) {
                try {
                    pending.add(s.submit(QUESTIONS.get(i % QUESTIONS.size()), 3));
                    taken++;
                } catch (AnswerService.Overloaded e) {
                    refused++;
                    assertTrue(e.getMessage().contains("2 questions are waiting"), e.getMessage());
                }
            }
            for (var f : pending) assertFalse(f.join().answer() == null);
        }
        assertTrue(refused > 0 && taken >= 2, "refused " + refused + " taken " + taken);
    }

    /** The library from many threads: the same answers as one at a time, no lock around a question. */
    @Test
    void realmIsSafeFromManyThreads() throws Exception {
        try (Realm realm = Realm.open(dir.resolve("qa"))) {
            List<String> expected = QUESTIONS.stream().map(q -> realm.ask(q, 2).answer()).toList();
            ExecutorService pool = Executors.newFixedThreadPool(6);
            try {
                List<Future<String>> got = new ArrayList<>();
                for (int i = 0; i < 48; i++) {
                    String q = QUESTIONS.get(i % QUESTIONS.size());
                    got.add(pool.submit(() -> realm.ask(q, 2).answer()));
                }
                for (int i = 0; i < got.size(); i++) assertEquals(expected.get(i % QUESTIONS.size()), got.get(i).get());
            } finally {
                pool.shutdown();
            }
            assertEquals(expected, realm.askAll(QUESTIONS, 2).stream().map(OpenQa.Prediction::answer).toList());
        }
    }
}
