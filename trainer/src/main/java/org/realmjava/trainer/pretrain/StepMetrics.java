package org.realmjava.trainer.pretrain;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.realmjava.trainer.train.MetricsLog;

/**
 * What one pre-training step measured (one JSON line of metrics.jsonl).
 *
 * @param loss -log p(y|x) per masked token (per-token marginal) or per query (whole-set); NaN when skipped
 * @param mlmAccuracy masked tokens whose argmax of sum_z p(z|x) p(y_t|z,x) is the target
 * @param utility retrieval utility: (log p(y|z_top,x) - log p(y|null,x)) per masked token, z_top the
 *     retrieved block with the highest score (0 without retrieval)
 * @param entropy of p(z|x) over the candidates, in nats, mean over queries
 * @param staleness steps since the snapshot of the document tower behind the live index
 * @param generation live index generation (0: built before step 0)
 * @param refreshSeconds duration of the refresh made live at this step (NaN when none was)
 * @param indexWaitSeconds time this step waited for a refresh to finish
 * @param seconds phase timings of the step (query, search, documents, reader, loss, backward, optimizer)
 */
public record StepMetrics(long step, double loss, double mlmAccuracy, double utility, double entropy, long staleness, long generation,
                          double tokensPerSecond, long tokens, long skipped, double lr, double stepSeconds, double refreshSeconds,
                          double indexWaitSeconds, Map<String, Double> seconds) {
    /** The plots of a pre-training or ICT run. */
    public static final List<MetricsLog.Plot> PLOTS = List.of(new MetricsLog.Plot("loss.png", "REALM pre-training loss", "-log p(y|x)", "loss"),
            new MetricsLog.Plot("utility.png", "Retrieval utility", "log p(y|z_top,x) - log p(y|null,x)", "utility"));

    /** The metrics.jsonl line. */
    public ObjectNode toJson() {
        ObjectNode n = MetricsLog.line(step);
        MetricsLog.put(n, "loss", loss);
        MetricsLog.put(n, "mlm_accuracy", mlmAccuracy);
        MetricsLog.put(n, "utility", utility);
        MetricsLog.put(n, "entropy", entropy);
        n.put("staleness", staleness);
        n.put("index_generation", generation);
        MetricsLog.put(n, "tokens_per_s", tokensPerSecond);
        n.put("tokens", tokens);
        n.put("skipped_steps", skipped);
        MetricsLog.put(n, "lr", lr);
        MetricsLog.put(n, "step_s", stepSeconds);
        if (!Double.isNaN(refreshSeconds)) MetricsLog.put(n, "refresh_s", refreshSeconds);
        MetricsLog.put(n, "index_wait_s", indexWaitSeconds);
        ObjectNode t = n.putObject("phase_s");
        seconds.forEach((k, v) -> MetricsLog.put(t, k, v));
        return n;
    }

    /** One short line for the progress bar; ICT steps have no retrieval utility or index: loss and in-batch accuracy only. */
    public String summary() {
        String skip = skipped > 0 ? " skipped " + skipped : "";
        return Double.isNaN(utility)
                ? String.format(Locale.ROOT, "loss %.4f acc %.3f tok/s %.0f%s", loss, mlmAccuracy, tokensPerSecond, skip)
                : String.format(Locale.ROOT, "loss %.4f acc %.3f util %+.3f tok/s %.0f gen %d stale %d%s", loss, mlmAccuracy, utility, tokensPerSecond,
                        generation, staleness, skip);
    }
}
