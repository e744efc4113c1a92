package org.realmjava.trainer.train;

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
 * metrics.jsonl of a run (one JSON object per step with a "step" key, appended as steps finish)
 * and its plots (one PNG per {@link Plot}, drawn by JFreeChart, written atomically). A resumed run
 * first drops the lines of steps at or after the step it resumes from (and any line a kill cut
 * short), so the file holds each step once and the plots show the whole run.
 */
public final class MetricsLog {
    /** A chart of one key of the lines against the step. */
    public record Plot(String file, String title, String yLabel, String key) {}

    private static final ObjectMapper JSON = new ObjectMapper();
    private final Path file;
    private final List<Plot> plots;
    private final List<double[]> points = new ArrayList<>(); // step, then one value per plot

    public MetricsLog(Path runDir, long resumeStep, List<Plot> plots) throws IOException {
        this.file = runDir.resolve("metrics.jsonl");
        this.plots = List.copyOf(plots);
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
                points.add(point(n));
            }
        }
        StringBuilder sb = new StringBuilder();
        for (String l : kept) sb.append(l).append('\n');
        AtomicFiles.write(file, ByteBuffer.wrap(sb.toString().getBytes(StandardCharsets.UTF_8)));
    }

    public Path file() {
        return file;
    }

    /** Appends one step's line (it must hold "step"). */
    public void append(ObjectNode line) throws IOException {
        if (!line.has("step")) throw new IllegalArgumentException("a metrics line needs a step");
        Files.writeString(file, JSON.writeValueAsString(line) + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        points.add(point(line));
    }

    private double[] point(JsonNode n) {
        double[] p = new double[plots.size() + 1];
        p[0] = n.get("step").asDouble();
        for (int i = 0; i < plots.size(); i++) p[i + 1] = n.path(plots.get(i).key()).asDouble(Double.NaN);
        return p;
    }

    /** A new metrics line for step s. */
    public static ObjectNode line(long step) {
        return JSON.createObjectNode().put("step", step);
    }

    /** Puts a number rounded to 6 decimals, or null when it is not finite. */
    public static void put(ObjectNode n, String k, double v) {
        if (Double.isFinite(v)) n.put(k, Math.round(v * 1e6) / 1e6);
        else n.putNull(k);
    }

    /** Writes every plot into dir. */
    public void plot(Path dir) throws IOException {
        System.setProperty("java.awt.headless", "true");
        for (int i = 0; i < plots.size(); i++) writeChart(dir.resolve(plots.get(i).file()), plots.get(i), i + 1);
    }

    private void writeChart(Path target, Plot plot, int column) throws IOException {
        XYSeries s = new XYSeries(plot.key());
        for (double[] p : points) if (Double.isFinite(p[column])) s.add(p[0], p[column]);
        JFreeChart chart = ChartFactory.createXYLineChart(plot.title(), "step", plot.yLabel(), new XYSeriesCollection(s), PlotOrientation.VERTICAL,
                false, false, false);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ChartUtils.writeChartAsPNG(out, chart, 900, 500);
        AtomicFiles.write(target, ByteBuffer.wrap(out.toByteArray()));
    }
}
