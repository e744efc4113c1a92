package org.realmjava.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.realmjava.serve.RealmServer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code realm serve --checkpoint D}: answers over HTTP until stopped (Ctrl-C finishes the queued questions first). */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Serves a fine-tuned checkpoint over HTTP: POST /v1/ask and /v1/retrieve ({\"question\": \"...\", \"k\": 5}), GET /health,",
                "GET /metrics (Prometheus), a page to ask from at /, and POST /v1/admin/reload (hot swap to the run's newest or a named checkpoint)."})
final class ServeCommand implements Callable<Integer> {
    @Option(names = "--checkpoint", required = true, description = "a fine-tuned checkpoint (a step directory, or a run's checkpoint_dir: its newest)")
    Path checkpoint;

    @Option(names = "--port", defaultValue = "8080", description = "port to listen on (default: ${DEFAULT-VALUE}; 0: any free port)")
    int port;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "address to bind (default: ${DEFAULT-VALUE}, this machine only; 0.0.0.0: every interface)")
    String host;

    @Option(names = "--threads", description = "worker threads of the engine (default: all cores)")
    Integer threads;

    @Option(names = "--max-batch", defaultValue = "16", description = "questions answered together at most (default: ${DEFAULT-VALUE})")
    int maxBatch;

    @Option(names = "--queue", defaultValue = "64", description = "questions that may wait; beyond it requests get 503 (default: ${DEFAULT-VALUE})")
    int queue;

    @Override
    public Integer call() throws Exception {
        if (port < 0 || port > 65535) throw new IllegalArgumentException("--port must be between 0 and 65535, got " + port);
        if (maxBatch < 1) throw new IllegalArgumentException("--max-batch must be at least 1, got " + maxBatch);
        if (queue < 1) throw new IllegalArgumentException("--queue must be at least 1, got " + queue);
        if (threads != null && threads < 1) throw new IllegalArgumentException("--threads must be at least 1, got " + threads);
        if (!Files.isDirectory(checkpoint)) throw new IllegalArgumentException("no such checkpoint directory: " + checkpoint);
        if (threads != null) System.setProperty("realm.threads", Integer.toString(threads));
        var defaults = RealmServer.Options.defaults(host, port);
        RealmServer server;
        try {
            server = RealmServer.start(checkpoint, new RealmServer.Options(host, port, maxBatch, queue, defaults.maxK(), defaults.maxQuestionChars(),
                    defaults.maxBodyBytes()));
        } catch (RuntimeException e) {
            if (e.getClass().getName().startsWith("io.javalin") || e.getCause() instanceof java.net.BindException) {
                throw new IllegalStateException("cannot listen on " + host + ":" + port + ": " + (e.getCause() != null ? e.getCause().getMessage() : e.getMessage()));
            }
            throw e;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            stopped.countDown();
        }));
        System.err.printf("realm serve: %s on http://%s:%d/ (POST /v1/ask, /v1/retrieve; GET /health, /metrics); Ctrl-C stops%n",
                checkpoint, host, server.port());
        stopped.await();
        return 0;
    }
}
