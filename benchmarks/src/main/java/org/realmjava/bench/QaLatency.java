package org.realmjava.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.realmjava.Realm;
import org.realmjava.trainer.eval.QaEvaluation;
import org.realmjava.trainer.qa.QaExample;
import org.realmjava.trainer.qa.QaReader;

/**
 * Latency of answering with a fine-tuned checkpoint through the Java API: the checkpoint load,
 * the first ask in a fresh JVM (cold: classes loading, code interpreted), then the median of
 * warm asks over different questions; and the throughput of an evaluation (dense retrieval + BM25
 * recall + the reader on the top k) over the same questions.
 *
 * <p>Usage: {@code QaLatency checkpoint questions.jsonl [k=5] [warm=30]}; prints one line of key=value.
 */
public final class QaLatency {
    private QaLatency() {}

    public static void main(String[] args) {
        long t0 = System.nanoTime();
        Path ckpt = Path.of(args[0]);
        List<QaExample> qs = QaReader.read(Path.of(args[1]), QaReader.guessFormat(Path.of(args[1])));
        int k = args.length > 2 ? Integer.parseInt(args[2]) : 5, warm = args.length > 3 ? Integer.parseInt(args[3]) : 30;
        try (Realm realm = Realm.open(ckpt)) {
            double load = (System.nanoTime() - t0) / 1e9;
            long t1 = System.nanoTime();
            realm.ask(qs.get(0).question(), k);
            double first = (System.nanoTime() - t1) / 1e9;
            for (int i = 1; i <= 10; i++) realm.ask(qs.get(i % qs.size()).question(), k); // warm-up
            double[] s = new double[warm];
            for (int i = 0; i < warm; i++) {
                long t = System.nanoTime();
                realm.ask(qs.get((11 + i) % qs.size()).question(), k);
                s[i] = (System.nanoTime() - t) / 1e9;
            }
            Arrays.sort(s);
            List<QaExample> evalSet = new ArrayList<>(qs.subList(0, Math.min(qs.size(), 100)));
            long t2 = System.nanoTime();
            QaEvaluation.run(realm.openQa(), evalSet, k, QaEvaluation.Retriever.DENSE, null);
            double evalS = (System.nanoTime() - t2) / 1e9;
            System.out.printf(java.util.Locale.ROOT, "blocks=%d k=%d load_s=%.2f first_ask_s=%.3f warm_ask_median_s=%.4f warm_ask_p90_s=%.4f eval_questions=%d eval_q_per_s=%.2f%n",
                    realm.blocks(), k, load, first, s[warm / 2], s[(int) (warm * 0.9)], evalSet.size(), evalSet.size() / evalS);
        }
    }
}
