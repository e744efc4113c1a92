package org.realmjava.trainer.pretrain;

import java.util.Map;

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
                          double indexWaitSeconds, Map<String, Double> seconds) {}
