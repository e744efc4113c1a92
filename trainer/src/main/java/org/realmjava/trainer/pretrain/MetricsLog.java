package org.realmjava.trainer.pretrain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;
import org.realmjava.mips.AtomicFiles;

/**
 * metrics.jsonl of a run (one JSON object per step, appended as steps finish) and its plots
 * (loss.png, utility.png, drawn by JFreeChart, written atomically). A resumed run first drops the
 * lines of steps at or after the step it resumes from (and any line a kill cut short), so the file
 * holds each step once.
 */
public final class MetricsLog {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Path file;
    private final List<double[]> points = new ArrayList<>(); // step, loss, utility, accuracy

    public MetricsLog(Path runDir, long resumeStep) throws IOException {
        this.file = runDir.resolve("metrics.jsonl");
        List<String> kept = new ArrayList<>();
        if (Files.exists(file)) {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                JsonNode n;
                try {
                    n = JSON.readTree(line);
                } catch (IOException e) {
                    continue; // the last line of a killed run
                }
                if (n == null || !n.has("step") || n.get("step").asLong() >= resumeStep) continue;
                kept.add(line);
                points.add(new double[] {n.get("step").asDouble(), n.path("loss").asDouble(Double.NaN), n.path("utility").asDouble(Double.NaN),
                        n.path("mlm_accuracy").asDouble(Double.NaN)});
            }
        }
        StringBuilder sb = new StringBuilder();
        for (String l : kept) sb.append(l).append('\n');
        AtomicFiles.write(file, ByteBuffer.wrap(sb.toString().getBytes(StandardCharsets.UTF_8)));
    }

    public Path file() {
        return file;
    }

    public void append(StepMetrics m) throws IOException {
        ObjectNode n = JSON.createObjectNode();
        n.put("step", m.step());
        put(n, "loss", m.loss());
        put(n, "mlm_accuracy", m.mlmAccuracy());
        put(n, "utility", m.utility());
        put(n, "entropy", m.entropy());
        n.put("staleness", m.staleness());
        n.put("index_generation", m.generation());
        put(n, "tokens_per_s", m.tokensPerSecond());
        n.put("tokens", m.tokens());
        n.put("skipped_steps", m.skipped());
        put(n, "lr", m.lr());
        put(n, "step_s", m.stepSeconds());
        if (!Double.isNaN(m.refreshSeconds())) put(n, "refresh_s", m.refreshSeconds());
        put(n, "index_wait_s", m.indexWaitSeconds());
        ObjectNode t = n.putObject("phase_s");
        m.seconds().forEach((k, v) -> put(t, k, v));
        Files.writeString(file, JSON.writeValueAsString(n) + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        points.add(new double[] {m.step(), m.loss(), m.utility(), m.mlmAccuracy()});
    }

    private static void put(ObjectNode n, String k, double v) {
        if (Double.isFinite(v)) n.put(k, Math.round(v * 1e6) / 1e6);
        else n.putNull(k);
    }

    /** Writes loss.png and utility.png into dir. */
    public void plot(Path dir) throws IOException {
        System.setProperty("java.awt.headless", "true");
        writeChart(dir.resolve("loss.png"), "REALM pre-training loss", "-log p(y|x)", 1, "loss");
        writeChart(dir.resolve("utility.png"), "Retrieval utility", "log p(y|z_top,x) - log p(y|null,x)", 2, "utility");
    }

    private void writeChart(Path target, String title, String yLabel, int column, String name) throws IOException {
        XYSeries s = new XYSeries(name);
        for (double[] p : points) if (Double.isFinite(p[column])) s.add(p[0], p[column]);
        JFreeChart chart = ChartFactory.createXYLineChart(title, "step", yLabel, new XYSeriesCollection(s), PlotOrientation.VERTICAL, false, false, false);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ChartUtils.writeChartAsPNG(out, chart, 900, 500);
        AtomicFiles.write(target, ByteBuffer.wrap(out.toByteArray()));
    }
}
