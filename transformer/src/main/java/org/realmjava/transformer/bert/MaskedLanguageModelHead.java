package org.realmjava.transformer.bert;

import java.util.Map;
import java.util.Random;
import org.realmjava.tensor.Ops;
import org.realmjava.tensor.Tensor;
import org.realmjava.tensor.nn.Linear;
import org.realmjava.tensor.nn.Module;

/**
 * BERT's MLM head: dense + GELU + LayerNorm, then logits against the word embeddings (tied:
 * the decoder weight is the encoder's embedding table) plus a bias. Names follow Hugging Face
 * ({@code cls.predictions.transform.dense.weight}, ...).
 */
public final class MaskedLanguageModelHead implements Module {
    public final Linear transform;
    public final Tensor lnWeight, lnBias, decoderBias;
    private final Tensor wordEmbeddings;
    private final BertConfig config;

    public MaskedLanguageModelHead(BertEncoder encoder, long seed) {
        this.config = encoder.config;
        int h = config.hiddenSize();
        this.transform = Linear.init(new Random(seed), h, h, 0.02f, true);
        this.lnWeight = Tensor.ones(h).requiresGrad(true);
        this.lnBias = Tensor.zeros(h).requiresGrad(true);
        this.decoderBias = Tensor.zeros(config.vocabSize()).requiresGrad(true);
        this.wordEmbeddings = encoder.wordEmbeddings;
    }

    /** Logits [n, vocab] for hidden states [n, hidden] (select the masked positions first: cheaper). */
    public Tensor logits(Tensor hidden) {
        Tensor t = Ops.layerNorm(transform.forward(hidden).gelu(), lnWeight, lnBias, config.layerNormEps());
        // linear, not matmul by a transposed view: the table's gradient comes out in its own layout
        // (no transposing copy of a vocab x hidden matrix per step) and the bias is added in the GEMM's pass
        return Ops.linear(t, wordEmbeddings, decoderBias);
    }

    @Override
    public void collectParameters(String p, Map<String, Tensor> out) {
        transform.collectParameters(p + "cls.predictions.transform.dense.", out);
        out.put(p + "cls.predictions.transform.LayerNorm.weight", lnWeight);
        out.put(p + "cls.predictions.transform.LayerNorm.bias", lnBias);
        out.put(p + "cls.predictions.bias", decoderBias);
    }
}
