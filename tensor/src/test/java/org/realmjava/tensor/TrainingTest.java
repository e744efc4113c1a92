package org.realmjava.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.realmjava.tensor.nn.Linear;
import org.realmjava.tensor.optim.AdamW;
import org.realmjava.tensor.optim.GradientClipping;
import org.realmjava.tensor.optim.LearningRateSchedule;
import org.realmjava.tensor.optim.Optimizer;
import org.realmjava.tensor.optim.Sgd;

/** Composite checks: small models learn; AdamW matches a hand-computed step; state restores exactly. */
class TrainingTest {

    @Test
    void twoLayerMlpLearnsXorLikeData() {
        Random rng = new Random(1);
        Linear l1 = Linear.init(rng, 2, 16, 0.5f, true), l2 = Linear.init(rng, 16, 2, 0.5f, true);
        Map<String, Tensor> params = new LinkedHashMap<>();
        l1.collectParameters("l1.", params);
        l2.collectParameters("l2.", params);
        float[] xs = new float[64 * 2];
        int[] ys = new int[64];
        for (int i = 0; i < 64; i++) {
            float a = rng.nextFloat() * 2 - 1, b = rng.nextFloat() * 2 - 1;
            xs[2 * i] = a;
            xs[2 * i + 1] = b;
            ys[i] = a * b > 0 ? 1 : 0;
        }
        Tensor x = Tensor.of(xs, 64, 2), y = Tensor.ofInts(ys);
        Optimizer opt = new AdamW(params, 0.9f, 0.999f, 1e-8f, 0f, n -> true);
        float first = 0, last = 0;
        for (int step = 0; step < 50; step++) {
            opt.zeroGrad();
            Tensor loss = Ops.crossEntropy(l2.forward(l1.forward(x).gelu()), y, -100, 0f);
            loss.backward();
            opt.step(0.05f);
            if (step == 0) first = loss.item();
            last = loss.item();
        }
        assertTrue(last < 0.5f * first, "MLP loss should fall by half in 50 steps: " + first + " -> " + last);
    }

    @Test
    void tinyAttentionBlockLearnsToCopy() {
        // one head of self-attention + residual + layer norm + output projection, trained to predict each token
        Random rng = new Random(2);
        int vocab = 8, d = 16, len = 6, batch = 4;
        Tensor emb = Tensor.randn(rng, 0.3f, vocab, d).requiresGrad(true);
        Linear q = Linear.init(rng, d, d, 0.2f, true), k = Linear.init(rng, d, d, 0.2f, true), v = Linear.init(rng, d, d, 0.2f, true);
        Linear out = Linear.init(rng, d, vocab, 0.2f, true);
        Tensor gamma = Tensor.ones(d).requiresGrad(true), beta = Tensor.zeros(d).requiresGrad(true);
        Map<String, Tensor> params = new LinkedHashMap<>();
        params.put("emb", emb);
        q.collectParameters("q.", params);
        k.collectParameters("k.", params);
        v.collectParameters("v.", params);
        out.collectParameters("out.", params);
        params.put("ln.gamma", gamma);
        params.put("ln.beta", beta);
        int[] tokens = new int[batch * len];
        for (int i = 0; i < tokens.length; i++) tokens[i] = rng.nextInt(vocab);
        Tensor ids = Tensor.ofInts(tokens, batch, len);
        Tensor targets = Tensor.ofInts(tokens);
        AdamW opt = AdamW.bertDefaults(params);
        LearningRateSchedule lr = new LearningRateSchedule(0.02f, 5, 50);
        float first = 0, last = 0;
        for (int step = 0; step < 50; step++) {
            opt.zeroGrad();
            Tensor h = Ops.embedding(emb, ids); // [b, len, d]
            Tensor scores = q.forward(h).matmul(k.forward(h).transpose(-1, -2)).scale((float) (1 / Math.sqrt(d)));
            Tensor att = scores.softmax(-1).matmul(v.forward(h));
            Tensor hn = Ops.layerNorm(h.add(att), gamma, beta, 1e-5f);
            Tensor logits = out.forward(hn).reshape(-1, vocab);
            Tensor loss = Ops.crossEntropy(logits, targets, -100, 0f);
            loss.backward();
            GradientClipping.clipGlobalNorm(params.values(), 1.0);
            opt.step(lr.at(step));
            if (step == 0) first = loss.item();
            last = loss.item();
        }
        assertTrue(last < 0.5f * first, "attention block loss should fall by half in 50 steps: " + first + " -> " + last);
    }

    @Test
    void adamwMatchesAHandComputedStep() {
        Tensor p = Tensor.of(new float[] {1f, -2f}, 2).requiresGrad(true);
        Tensor b = Tensor.of(new float[] {0.5f}, 1).requiresGrad(true);
        Map<String, Tensor> params = new LinkedHashMap<>();
        params.put("w", p);
        params.put("bias", b);
        AdamW opt = new AdamW(params, 0.9f, 0.999f, 1e-8f, 0.1f, AdamW::isNoDecayName);
        // loss = sum(w * [3, 4]) + 2 * bias  ->  grads [3, 4] and [2]
        p.mul(Tensor.of(new float[] {3f, 4f}, 2)).sum().add(b.scale(2f).sum()).backward();
        opt.step(0.01f);
        // step 1: m = 0.1 g, v = 0.001 g^2, mhat = g, vhat = g^2, update = g/(|g| + eps) = sign(g)
        // w: p - lr * (1 + 0.1 * p); bias (no decay): b - lr * 1
        double eps = 1e-8;
        double w0 = 1 - 0.01 * (3 / (3 + eps) + 0.1 * 1), w1 = -2 - 0.01 * (4 / (4 + eps) + 0.1 * -2);
        assertEquals(w0, p.get(0), 1e-6);
        assertEquals(w1, p.get(1), 1e-6);
        assertEquals(0.5 - 0.01, b.get(0), 1e-6);
    }

    @Test
    void adamwScalesTheLearningRatePerParameter() {
        Tensor p = Tensor.of(new float[] {1f, -2f}, 2).requiresGrad(true);
        Tensor q = Tensor.of(new float[] {1f, -2f}, 2).requiresGrad(true);
        Map<String, Tensor> params = new LinkedHashMap<>();
        params.put("retriever.w", p);
        params.put("reader.w", q);
        AdamW opt = new AdamW(params, 0.9f, 0.999f, 1e-8f, 0f, n -> false).lrScale(n -> n.startsWith("retriever.") ? 0.1 : 1.0);
        p.mul(Tensor.of(new float[] {3f, 4f}, 2)).sum().add(q.mul(Tensor.of(new float[] {3f, 4f}, 2)).sum()).backward();
        opt.step(0.01f);
        // first step: the update is lr * sign(g) (no decay): 0.001 for the scaled parameter, 0.01 for the other
        assertEquals(1 - 0.001, p.get(0), 1e-7);
        assertEquals(-2 - 0.001, p.get(1), 1e-7);
        assertEquals(1 - 0.01, q.get(0), 1e-7);
    }

    @Test
    void optimizerStateRestoresExactly() throws Exception {
        Random rng = new Random(3);
        Tensor w = Tensor.randn(rng, 1f, 5, 3).requiresGrad(true);
        Map<String, Tensor> params = Map.of("w", w);
        AdamW a = AdamW.bertDefaults(params);
        for (int i = 0; i < 3; i++) {
            a.zeroGrad();
            w.mul(w).sum().backward();
            a.step(0.01f);
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        a.saveState(new DataOutputStream(bytes));
        float[] wSaved = w.toFloatArray();
        // continue the original one step
        a.zeroGrad();
        w.mul(w).sum().backward();
        a.step(0.01f);
        float[] expected = w.toFloatArray();
        // restore into a fresh optimizer and parameters, take the same step: identical bits
        Tensor w2 = Tensor.of(wSaved, 5, 3).requiresGrad(true);
        AdamW b = AdamW.bertDefaults(Map.of("w", w2));
        b.loadState(new DataInputStream(new ByteArrayInputStream(bytes.toByteArray())));
        assertEquals(3, b.stepCount());
        w2.mul(w2).sum().backward();
        b.step(0.01f);
        assertArrayEquals(expected, w2.toFloatArray());
    }

    @Test
    void sgdAndSchedule() {
        Tensor w = Tensor.of(new float[] {1f}, 1).requiresGrad(true);
        Sgd sgd = new Sgd(Map.of("w", w), 0f);
        w.mul(w).sum().backward(); // grad 2
        sgd.step(0.1f);
        assertEquals(0.8f, w.get(0), 1e-7);
        LearningRateSchedule s = new LearningRateSchedule(1f, 4, 12);
        assertEquals(0.25f, s.at(0), 1e-7);
        assertEquals(1f, s.at(3), 1e-7);
        assertEquals(1f, s.at(4), 1e-7);
        assertEquals(0.5f, s.at(8), 1e-7);
        assertEquals(0f, s.at(12), 1e-7);
    }

    @Test
    void gradientsAccumulateAcrossBackwardCalls() {
        Tensor w = Tensor.of(new float[] {2f}, 1).requiresGrad(true);
        w.mul(w).sum().backward();
        w.mul(w).sum().backward();
        assertEquals(8f, w.grad().get(0)); // 2 * (2w)
        try (var g = Autograd.noGrad()) {
            Tensor y = w.mul(w);
            assertTrue(!y.requiresGrad());
        }
        Tensor d = w.detach();
        assertTrue(!d.requiresGrad());
    }
}
