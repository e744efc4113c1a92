package org.realmjava.tensor.optim;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.realmjava.tensor.Backend;
import org.realmjava.tensor.Tensor;

/** Plain SGD with optional momentum: v = mu v + g; p -= lr v. */
public final class Sgd implements Optimizer {
    private static final int STATE_MAGIC = 0x52534744; // "RSGD"
    private final Map<String, Tensor> params;
    private final float momentum;
    private final Map<String, Tensor> velocity = new LinkedHashMap<>();

    public Sgd(Map<String, Tensor> params, float momentum) {
        this.params = new LinkedHashMap<>(params);
        this.momentum = momentum;
        for (var e : this.params.entrySet()) velocity.put(e.getKey(), Tensor.zeros(e.getValue().shape()));
    }

    @Override
    public Map<String, Tensor> parameters() {
        return params;
    }

    @Override
    public void step(float lr) {
        var k = Backend.current().kernels();
        for (var e : params.entrySet()) {
            Tensor p = e.getValue();
            if (p.grad() == null) continue;
            p.markWritten(); // changed in place: its packed inference form is stale (before and after, for a packer running meanwhile)
            var g = p.grad().contiguous().segment();
            var v = velocity.get(e.getKey()).segment();
            if (momentum != 0f) {
                k.scale(v, momentum, v, p.numel());
                k.axpy(1f, g, v, p.numel());
                k.axpy(-lr, v, p.segment(), p.numel());
            } else {
                k.axpy(-lr, g, p.segment(), p.numel());
            }
            p.markWritten();
        }
    }

    @Override
    public void saveState(DataOutputStream out) throws IOException {
        out.writeInt(STATE_MAGIC);
        out.writeInt(params.size());
        for (String name : params.keySet()) {
            out.writeUTF(name);
            AdamW.writeTensor(out, velocity.get(name));
        }
    }

    @Override
    public void loadState(DataInputStream in) throws IOException {
        if (in.readInt() != STATE_MAGIC) throw new IOException("SGD state: bad magic");
        int count = in.readInt();
        if (count != params.size()) throw new IOException("SGD state: " + count + " parameters saved, " + params.size() + " here");
        for (int i = 0; i < count; i++) {
            String name = in.readUTF();
            if (!velocity.containsKey(name)) throw new IOException("SGD state: unknown parameter " + name);
            AdamW.readTensor(in, velocity.get(name), name);
        }
    }
}
