package org.realmjava.bench;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.realmjava.trainer.config.InitConfig;
import org.realmjava.trainer.model.DefaultModel;
import org.realmjava.trainer.model.ModelInit;
import org.realmjava.trainer.model.RealmModel;
import org.realmjava.trainer.retrieval.BlockInputs;
import org.realmjava.trainer.retrieval.DocumentEmbedder;

/**
 * The refresh against ONNX Runtime given other batchings than ours: RefreshThroughput times both
 * engines on the refresh's own passes (at most 256 blocks and 2,048 wordpieces), which is not
 * necessarily where ORT runs best, so here ORT also runs passes of a fixed number of blocks and
 * of a smaller token budget. Sides "engine:maxBlocks:maxTokens" (engine realm or ort); each runs
 * whole passes over the corpus in rotation (a different side first each round, 50 ms apart so
 * that pool threads have stopped spinning), after one untimed pass each. Prints blocks/s per side
 * and ours against ORT's fastest side.
 *
 * <p>Usage: {@code RefreshBatchings corpus limit rounds [side...]}; default sides: realm:256:2048
 * ort:256:2048 ort:32:100000 ort:16:100000 ort:256:4096.
 */
public final class RefreshBatchings {
    private RefreshBatchings() {}

    public static void main(String[] args) throws Exception {
        String corpus = args.length > 0 ? args[0] : "wordnet";
        int limit = args.length > 1 ? Integer.parseInt(args[1]) : 2000, rounds = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        String[] sides = args.length > 3 ? Arrays.copyOfRange(args, 3, args.length)
                : new String[] {"realm:256:" + DocumentEmbedder.MAX_BATCH_TOKENS, "ort:256:" + DocumentEmbedder.MAX_BATCH_TOKENS, "ort:32:100000", "ort:16:100000", "ort:256:4096"};
        ModelInit.Result init = ModelInit.create(new InitConfig(null, null, null, null, null, null), 384, false, 0);
        RealmModel model = init.model();
        var tok = init.tokenizer();
        BlockInputs inputs = new BlockInputs(RefreshThroughput.blocks(tok, corpus, limit, 288), tok, 288);
        List<int[][]> batchings = new ArrayList<>();
        for (String side : sides) {
            String[] p = side.split(":");
            if (p.length != 3 || !(p[0].equals("realm") || p[0].equals("ort"))) throw new IllegalArgumentException("side must be realm|ort:maxBlocks:maxTokens, got " + side);
            batchings.add(DocumentEmbedder.batches(inputs, Integer.parseInt(p[1]), Integer.parseInt(p[2])));
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession.SessionOptions opts = new OrtSession.SessionOptions();
        opts.setIntraOpNumThreads(2);
        opts.setInterOpNumThreads(1);
        try (OrtSession session = env.createSession(DefaultModel.file(DefaultModel.ONNX).toString(), opts)) {
            double[] seconds = new double[sides.length];
            float[] ours = new float[inputs.size() * 384], theirs = new float[inputs.size() * 384];
            for (int r = 0; r <= rounds; r++) {
                for (int k = 0; k < sides.length; k++) {
                    int s = (k + r) % sides.length;
                    boolean realm = sides[s].startsWith("realm");
                    Thread.sleep(50);
                    long t0 = System.nanoTime();
                    for (int[] b : batchings.get(s)) {
                        if (realm) RefreshThroughput.realmBatch(model, inputs, b, tok.sepId(), ours, 384);
                        else RefreshThroughput.ortBatch(env, session, inputs, b, tok.sepId(), tok.padId(), theirs);
                    }
                    if (r > 0) seconds[s] += (System.nanoTime() - t0) / 1e9;
                }
            }
            double bestOrt = 0, realmRate = 0;
            for (int s = 0; s < sides.length; s++) {
                double rate = inputs.size() * (double) rounds / seconds[s];
                if (sides[s].startsWith("ort")) bestOrt = Math.max(bestOrt, rate);
                else realmRate = Math.max(realmRate, rate);
                System.out.printf("side=%s passes=%d blocks_per_s=%.1f%n", sides[s], batchings.get(s).length, rate);
            }
            double maxDiff = 0;
            for (int i = 0; i < ours.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ours[i] - theirs[i]));
            System.out.printf("blocks=%d realm_vs_best_ort=%.3f max_abs_diff=%.2e%n", inputs.size(), realmRate / bestOrt, maxDiff);
        }
    }
}
