package org.realmjava.transformer.bert;

import java.util.Map;
import java.util.Random;
import org.realmjava.tensor.Tensor;
import org.realmjava.tensor.nn.Linear;
import org.realmjava.tensor.nn.Module;

/** REALM's retriever head: the [CLS] vector projected linearly to a small space (128 in the paper). */
public final class ProjectionHead implements Module {
    public final Linear projection;

    public ProjectionHead(int hidden, int dim, long seed) {
        this.projection = Linear.init(new Random(seed), hidden, dim, 0.02f, true);
    }

    /** [batch, dim] from hidden states [batch, len, hidden]. */
    public Tensor embed(Tensor hidden) {
        return projection.forward(BertEncoder.poolCls(hidden));
    }

    @Override
    public void collectParameters(String p, Map<String, Tensor> out) {
        projection.collectParameters(p + "projection.", out);
    }
}
