package org.realmjava.transformer.bert;

import java.util.Map;
import java.util.Random;
import org.realmjava.tensor.Tensor;

/**
 * Mimetic initialisation of a random BERT (after Trockman and Kolter, "Mimetic Initialization of
 * Self-Attention Layers", 2023): the weights start with the structure that trained attention
 * layers show, instead of pure noise.
 * <ul>
 * <li>W_q = W_k, one N(0, qkStd) matrix per layer: q . k = x^T W^T W y, and W^T W is close to a
 *     multiple of the identity, so each position starts out attending to positions whose states
 *     resemble its own.</li>
 * <li>W_o = W_v^T scaled so that W_o W_v is close to ovGain times the identity: what a head
 *     attends to passes into the residual stream as it is.</li>
 * <li>For the MLM head, its dense layer starts as headGain times the identity: the final hidden
 *     state's direction reaches the tied decoder (the word embeddings) unchanged.</li>
 * </ul>
 * Why: a reader that must copy a fact from the block it reads needs exactly these three paths
 * (find the matching wordpiece, move it to the mask, decode it as itself). From BERT's plain N(0,
 * 0.02) init a 2-layer reader took ~3x as many steps to learn that (docs/experiments.md, "Why the
 * random reader does not read"). The init adds no knowledge: every weight still starts random.
 */
public final class MimeticInit {
    /** The values measured best for a 2-layer, hidden-128 reader (docs/experiments.md). */
    public static final float QK_STD = 0.05f, OV_GAIN = 1f, HEAD_GAIN = 1f;

    private MimeticInit() {}

    /** Rewrites the attention weights of every layer of a randomly initialised encoder in place (qkStd 0 or ovGain 0: that part is left as it is). */
    public static void apply(BertEncoder encoder, Random rng, float qkStd, float ovGain) {
        int h = encoder.config.hiddenSize();
        Map<String, Tensor> p = encoder.namedParameters();
        for (int l = 0; l < encoder.config.layers(); l++) {
            String n = "encoder.layer." + l + ".attention.";
            if (qkStd > 0) {
                Tensor r = Tensor.randn(rng, qkStd, h, h);
                p.get(n + "self.query.weight").detach().copyFrom(r);
                p.get(n + "self.key.weight").detach().copyFrom(r);
            }
            if (ovGain == 0) continue;
            // W_v ~ N(0, s): W_v^T W_v ~ h s^2 I, with s measured rather than assumed
            Tensor v = p.get(n + "self.value.weight").detach();
            double ss = 0;
            for (float x : v.toFloatArray()) ss += (double) x * x;
            float meanSquare = (float) (ss / v.numel());
            p.get(n + "output.dense.weight").detach().copyFrom(v.transpose(0, 1).contiguous().scale(ovGain / (h * meanSquare)));
        }
    }

    /** The head's dense layer as gain times the identity (its bias stays zero). */
    public static void apply(MaskedLanguageModelHead head, float gain) {
        int h = (int) head.transform.weight.size(0);
        float[] eye = new float[h * h];
        for (int i = 0; i < h; i++) eye[i * h + i] = gain;
        head.transform.weight.detach().copyFrom(Tensor.of(eye, h, h));
    }
}
