package org.realmjava.trainer.finetune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.realmjava.Realm;
import org.realmjava.tensor.Tensor;
import org.realmjava.trainer.checkpoint.CheckpointDirectory;
import org.realmjava.trainer.config.ConfigException;
import org.realmjava.trainer.config.FinetuneConfig;
import org.realmjava.trainer.corpus.Block;
import org.realmjava.trainer.corpus.CorpusException;
import org.realmjava.trainer.eval.AnswerMatcher;
import org.realmjava.trainer.eval.AnswerNormalizer;
import org.realmjava.trainer.qa.OpenQa;
import org.realmjava.trainer.qa.QaExample;
import org.realmjava.trainer.qa.ReaderInput;
import org.realmjava.trainer.train.TrainingListener;

/**
 * Open-QA fine-tuning on a tiny random BERT: the loss is the nested marginal computed directly from
 * the scores, gradients reach the trained parts and not the frozen document tower, training lowers
 * the loss, an interrupted-and-resumed run repeats the uninterrupted one bit for bit, its checkpoint
 * answers through the Realm API, and bad configs and data fail with one line.
 */
class FinetuneRunTest {
    @TempDir
    Path dir;

    private static final String[][] FACTS = TinyQa.FACTS;

    private Path config(String name, String extra) throws IOException {
        return TinyQa.config(dir, name, extra);
    }

    @Test
    void lossIsTheNestedMarginalOfTheScoresAndReachesOnlyTheTrainedParts() throws IOException {
        FinetuneRun run = FinetuneRun.open(FinetuneConfig.read(config("loss", "")), TrainingListener.SILENT);
        Finetuner t = run.trainer();
        List<QaExample> batch = t.train.subList(0, 4);
        Finetuner.Forward f = t.forward(batch, null, new org.realmjava.trainer.train.PhaseTimes());
        assertNotNull(f.loss());
        // the same loss in double precision from the values the forward pass used
        OpenQa qa = t.qa;
        List<int[]> q = new ArrayList<>();
        for (QaExample e : batch) q.add(qa.encodeQuestion(e.question()));
        float[] fv;
        int[][] cands;
        OpenQa.Reading r;
        try (var g = org.realmjava.tensor.Autograd.noGrad()) {
            Tensor qv = qa.queryVectors(q, null);
            cands = qa.search(qv, 3);
            fv = qa.retrievalScores(qv, cands).toFloatArray();
            r = qa.read(q, cands, null);
        }
        float[] sv = r.scores().toFloatArray();
        double total = 0;
        int counted = 0;
        for (int i = 0; i < batch.size(); i++) {
            AnswerMatcher m = AnswerMatcher.of(batch.get(i));
            double[] prior = softmax(fv, i * 3, 3);
            double py = 0;
            boolean any = false;
            for (int j = 0; j < 3; j++) {
                ReaderInput in = r.inputs().get(i * 3 + j);
                double[] ps = softmax(sv, (i * 3 + j) * r.width(), in.spans());
                Block b = qa.blocks.get(cands[i][j]);
                for (int s = 0; s < in.spans(); s++) {
                    String text = in.spanText(b, s);
                    if (m.span(text, AnswerNormalizer.normalize(text))) {
                        py += prior[j] * ps[s];
                        any = true;
                    }
                }
            }
            if (any) {
                total += -Math.log(py);
                counted++;
            }
        }
        assertEquals(f.sums().contributing(), counted);
        assertEquals(total / counted, f.loss().item(), 1e-4 * Math.max(1, total / counted));
        f.loss().backward();
        assertTrue(nonZero(qa.model.queryTower.namedParameters().values()), "query tower gets a gradient");
        assertTrue(nonZero(qa.model.reader.namedParameters().values()), "reader gets a gradient");
        assertTrue(nonZero(qa.spanHead.namedParameters().values()), "span head gets a gradient");
        assertFalse(nonZero(qa.model.docTower.namedParameters().values()), "the document tower is frozen");
        assertFalse(t.optimizer.parameters().containsKey("doc.embeddings.word_embeddings.weight"));
    }

    private static boolean nonZero(Iterable<Tensor> params) {
        for (Tensor p : params) {
            Tensor g = p.grad();
            if (g == null) continue;
            for (float v : g.toFloatArray()) if (v != 0) return true;
        }
        return false;
    }

    private static double[] softmax(float[] x, int from, int n) {
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (int i = 0; i < n; i++) max = Math.max(max, x[from + i]);
        double[] p = new double[n];
        for (int i = 0; i < n; i++) sum += p[i] = Math.exp(x[from + i] - max);
        for (int i = 0; i < n; i++) p[i] /= sum;
        return p;
    }

    @Test
    void trainsResumesBitForBitAndAnswersThroughTheApi() throws IOException {
        Path a = config("a", ", \"steps\": 24, \"checkpoint_every\": 12");
        try (var x = Stream.of(0)) {
            FinetuneRun.open(FinetuneConfig.read(a), TrainingListener.SILENT).run();
        }
        List<Double> full = losses(dir.resolve("a/metrics.jsonl"));
        assertEquals(24, full.size());
        double first = mean(full.subList(0, 4)), last = mean(full.subList(20, 24));
        assertTrue(last < first - 0.5, "loss should fall: first " + first + ", last " + last);
        // interrupted after step 12: the newest checkpoint gone, the run restarted with the same config
        Path b = config("b", ", \"steps\": 24, \"checkpoint_every\": 12");
        FinetuneRun.open(FinetuneConfig.read(b), TrainingListener.SILENT).run();
        deleteTree(dir.resolve("b/" + CheckpointDirectory.name(24)));
        FinetuneRun resumed = FinetuneRun.open(FinetuneConfig.read(b), TrainingListener.SILENT);
        assertEquals(12, resumed.startStep());
        resumed.run();
        assertEquals(full, losses(dir.resolve("b/metrics.jsonl")));
        for (String f : new String[] {"reader/model.safetensors", "query/model.safetensors", "span-head.safetensors", "optimizer.bin", "blocks.jsonl"}) {
            assertArrayEquals(Files.readAllBytes(dir.resolve("a/step-0000024/" + f)), Files.readAllBytes(dir.resolve("b/step-0000024/" + f)), f);
        }
        assertTrue(Files.isRegularFile(dir.resolve("a/loss.png")) && Files.isRegularFile(dir.resolve("a/em.png")));

        try (Realm realm = Realm.open(dir.resolve("a"))) {
            OpenQa.Prediction p = realm.ask("What is the capital of Portugal?", 2);
            assertEquals(2, p.evidence().size());
            assertFalse(p.answer().isEmpty());
            assertTrue(p.probability() > 0 && p.probability() <= 1 + 1e-9, "probability " + p.probability());
            assertEquals(realm.blocks(), realm.ask("Who climbed Everest?", 50).evidence().size(), "k clamped to the corpus");
            assertThrows(IllegalArgumentException.class, () -> realm.ask("  "));
        }
    }

    private static double mean(List<Double> v) {
        return v.stream().mapToDouble(Double::doubleValue).average().orElseThrow();
    }

    private static List<Double> losses(Path metrics) throws IOException {
        List<Double> out = new ArrayList<>();
        ObjectMapper m = new ObjectMapper();
        for (String line : Files.readAllLines(metrics)) out.add(m.readTree(line).get("loss").asDouble());
        return out;
    }

    private static void deleteTree(Path p) throws IOException {
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(q);
        }
    }

    @Test
    void badConfigsAndDataFailWithOneLine() throws IOException {
        assertTrue(assertThrows(ConfigException.class, () -> FinetuneConfig.read(config("u", ", \"frobnicate\": 1"))).getMessage()
                .startsWith("config u.json: unknown key 'frobnicate' (known here: "));
        Path noTrain = dir.resolve("nt.json");
        Files.writeString(noTrain, "{\"corpus\": {\"format\": \"wordnet\"}, \"checkpoint_dir\": \"x\"}");
        assertEquals("config nt.json: 'train' is missing (e.g. {\"path\": \"train.jsonl\"} with {\"question\", \"answer\": [...]} lines)",
                assertThrows(ConfigException.class, () -> FinetuneConfig.read(noTrain)).getMessage());
        Path c = config("bad", "");
        Files.writeString(dir.resolve("qa.jsonl"), "{\"question\": \"ok?\", \"answer\": [\"yes\"]}\n{\"question\": \"broken\"\n");
        String msg = assertThrows(CorpusException.class, () -> FinetuneRun.open(FinetuneConfig.read(c), TrainingListener.SILENT)).getMessage();
        assertTrue(msg.contains("qa.jsonl:2: not a JSON object"), msg);
        assertFalse(Files.exists(dir.resolve("bad")), "nothing written for bad data");
        Files.writeString(dir.resolve("qa.jsonl"), "\n");
        assertTrue(assertThrows(CorpusException.class, () -> FinetuneRun.open(FinetuneConfig.read(c), TrainingListener.SILENT)).getMessage()
                .endsWith("qa.jsonl: no questions"));
    }
}
