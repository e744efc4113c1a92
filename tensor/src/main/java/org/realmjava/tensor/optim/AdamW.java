package org.realmjava.tensor.optim;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Predicate;
import org.realmjava.tensor.Backend;
import org.realmjava.tensor.Tensor;

/**
 * AdamW (Loshchilov and Hutter): Adam moments plus weight decay applied to the weights directly,
 * not through the gradient. Parameters whose name matches noDecay (biases, LayerNorm) get no decay,
 * as in BERT. The update is the {@code adamw} kernel of the current backend.
 */
public final class AdamW implements Optimizer {
    private static final int STATE_MAGIC = 0x52414457; // "RADW"

    private final Map<String, Tensor> params;
    private final float beta1, beta2, eps, weightDecay;
    private final Predicate<String> noDecay;
    private final Map<String, Tensor> m = new LinkedHashMap<>(), v = new LinkedHashMap<>();
    private java.util.function.ToDoubleFunction<String> lrScale = name -> 1.0;
    private long step;

    public AdamW(Map<String, Tensor> params, float beta1, float beta2, float eps, float weightDecay, Predicate<String> noDecay) {
        this.params = new LinkedHashMap<>(params);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        this.noDecay = noDecay;
        for (var e : this.params.entrySet()) {
            if (!e.getValue().isContiguous()) throw new IllegalArgumentException("AdamW: parameter " + e.getKey() + " is not contiguous");
            m.put(e.getKey(), Tensor.zeros(e.getValue().shape()));
            v.put(e.getKey(), Tensor.zeros(e.getValue().shape()));
        }
    }

    /** BERT's defaults: betas 0.9/0.999, eps 1e-6, decay 0.01, none on biases and LayerNorm weights. */
    public static AdamW bertDefaults(Map<String, Tensor> params) {
        return new AdamW(params, 0.9f, 0.999f, 1e-6f, 0.01f, AdamW::isNoDecayName);
    }

    /** Biases and LayerNorm parameters, by the Hugging Face naming. */
    public static boolean isNoDecayName(String name) {
        String n = name.toLowerCase();
        return n.endsWith("bias") || n.contains("layernorm") || n.contains("layer_norm") || n.endsWith(".gamma") || n.endsWith(".beta");
    }

    /**
     * Multiplies the learning rate of each parameter by scale(name) (1 by default): REALM trains the
     * retriever with a smaller rate than the reader where the reader's signal is still noise.
     */
    public AdamW lrScale(java.util.function.ToDoubleFunction<String> scale) {
        this.lrScale = scale;
        return this;
    }

    public long stepCount() {
        return step;
    }

    @Override
    public Map<String, Tensor> parameters() {
        return params;
    }

    @Override
    public void step(float lr) {
        step++;
        float bc1 = (float) (1 - Math.pow(beta1, step)), bc2 = (float) (1 - Math.pow(beta2, step));
        for (var e : params.entrySet()) {
            Tensor p = e.getValue();
            if (p.grad() == null) continue;
            p.markWritten(); // changed in place: its packed inference form is stale (before and after, for a packer running meanwhile)
            float wd = noDecay.test(e.getKey()) ? 0f : weightDecay;
            float plr = (float) (lr * lrScale.applyAsDouble(e.getKey()));
            Backend.current().kernels().adamw(p.segment(), p.grad().contiguous().segment(), m.get(e.getKey()).segment(),
                    v.get(e.getKey()).segment(), p.numel(), plr, beta1, beta2, eps, wd, bc1, bc2);
            p.markWritten();
        }
    }

    /** The first moment kept for a parameter (to inspect, or to damage in a test). */
    public Tensor firstMoment(String name) {
        Tensor t = m.get(name);
        if (t == null) throw new IllegalArgumentException("no parameter " + name);
        return t;
    }

    @Override
    public String firstNonFinite() {
        String bad = Optimizer.super.firstNonFinite();
        if (bad != null) return bad;
        for (String name : params.keySet()) {
            if (!Optimizer.finite(m.get(name))) return name + " (first moment)";
            if (!Optimizer.finite(v.get(name))) return name + " (second moment)";
        }
        return null;
    }

    @Override
    public void saveState(DataOutputStream out) throws IOException {
        out.writeInt(STATE_MAGIC);
        out.writeLong(step);
        out.writeInt(params.size());
        for (String name : params.keySet()) {
            out.writeUTF(name);
            writeTensor(out, m.get(name));
            writeTensor(out, v.get(name));
        }
    }

    @Override
    public void loadState(DataInputStream in) throws IOException {
        if (in.readInt() != STATE_MAGIC) throw new IOException("AdamW state: bad magic (not an AdamW state file)");
        long s = in.readLong();
        int count = in.readInt();
        if (count != params.size()) throw new IOException("AdamW state: " + count + " parameters saved, " + params.size() + " here");
        for (int i = 0; i < count; i++) {
            String name = in.readUTF();
            if (!params.containsKey(name)) throw new IOException("AdamW state: unknown parameter " + name);
            readTensor(in, m.get(name), name);
            readTensor(in, v.get(name), name);
        }
        step = s;
    }

    static void writeTensor(DataOutputStream out, Tensor t) throws IOException {
        long[] shape = t.shape();
        out.writeInt(shape.length);
        for (long d : shape) out.writeLong(d);
        for (float f : t.toFloatArray()) out.writeInt(Float.floatToRawIntBits(f));
    }

    static void readTensor(DataInputStream in, Tensor into, String name) throws IOException {
        int rank = in.readInt();
        long[] shape = new long[rank];
        for (int i = 0; i < rank; i++) shape[i] = in.readLong();
        if (!Arrays.equals(shape, into.shape())) {
            throw new IOException("optimizer state: " + name + " saved with shape " + Arrays.toString(shape) + ", here " + Arrays.toString(into.shape()));
        }
        float[] vals = new float[Math.toIntExact(into.numel())];
        for (int i = 0; i < vals.length; i++) vals[i] = Float.intBitsToFloat(in.readInt());
        into.copyFrom(Tensor.of(vals, shape));
    }
}
