package org.realmjava.trainer.scratch;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.realmjava.tensor.Autograd;
import org.realmjava.tensor.Tensor;
import org.realmjava.trainer.config.InitConfig;
import org.realmjava.trainer.corpus.BlockSplitter;
import org.realmjava.trainer.corpus.CorpusFormat;
import org.realmjava.trainer.corpus.CorpusReader;
import org.realmjava.trainer.model.ModelInit;
import org.realmjava.trainer.retrieval.*;
import org.realmjava.transformer.bert.BertEncoder;

class PadScratchTest {
    @Test
    void probe() {
        var init = ModelInit.create(new InitConfig(null, null, null, new InitConfig.RandomBert(2, 64, 4, 128), null, null), 32, false, 3);
        var blocks = new BlockInputs(new BlockSplitter(init.tokenizer(), 64).split(CorpusReader.read(null, CorpusFormat.WORDNET, 300)), init.tokenizer(), 64);
        int sep = init.tokenizer().sepId(), pad = init.tokenizer().padId(), h = 64;
        BertEncoder enc = init.model().docTower;
        float[][] un = new float[blocks.size()][], pd = new float[blocks.size()][], um = new float[blocks.size()][], pm = new float[blocks.size()][];
        try (var g = Autograd.noGrad()) {
            for (int[] pass : DocumentEmbedder.batches(blocks, 256, 2048)) {
                List<int[]> ids = new ArrayList<>(), types = new ArrayList<>();
                for (int b : pass) { ids.add(blocks.ids(b)); types.add(BlockInputs.typeIds(blocks.ids(b), sep)); }
                BertEncoder.Unpadded u = enc.forwardUnpadded(ids, types);
                float[] q = u.hidden().toFloatArray();
                float[] mm = u.poolMean().toFloatArray();
                for (int s = 0; s < pass.length; s++) um[pass[s]] = java.util.Arrays.copyOfRange(mm, s * h, s * h + h);
                for (int s = 0; s < pass.length; s++) un[pass[s]] = java.util.Arrays.copyOfRange(q, u.starts()[s] * h, (u.starts()[s] + u.lens()[s]) * h);
            }
            for (int[] pass : DocumentEmbedder.batches(blocks, 32, Integer.MAX_VALUE)) {
                List<int[]> ids = new ArrayList<>(), types = new ArrayList<>();
                for (int b : pass) { ids.add(blocks.ids(b)); types.add(BlockInputs.typeIds(blocks.ids(b), sep)); }
                Batches bt = Batches.pad(ids, types, pad);
                Tensor hp = enc.forward(bt.ids(), bt.types(), bt.mask(), null);
                float[] p = hp.toFloatArray();
                float[] mm = BertEncoder.poolMean(hp, bt.mask()).toFloatArray();
                for (int s = 0; s < pass.length; s++) pm[pass[s]] = java.util.Arrays.copyOfRange(mm, s * h, s * h + h);
                int max = (int) bt.ids().size(1);
                for (int s = 0; s < pass.length; s++) pd[pass[s]] = java.util.Arrays.copyOfRange(p, s * max * h, (s * max + ids.get(s).length) * h);
            }
        }
        int bad = 0;
        for (int b = 0; b < un.length; b++) {
            int d = 0, first = -1;
            for (int i = 0; i < un[b].length; i++) if (un[b][i] != pd[b][i]) { d++; if (first < 0) first = i; }
            if (d > 0 && bad++ < 15) System.out.println("block " + b + " len " + blocks.ids(b).length + " diffs " + d + " first row " + first / h + " col " + first % h);
        }
        int mb = 0; for (int b = 0; b < un.length; b++) if (!java.util.Arrays.equals(um[b], pm[b])) { if (mb++ < 5) System.out.println("mean block " + b + " len " + blocks.ids(b).length); }
        System.out.println("mean differing " + mb);
        System.out.println("blocks differing " + bad + " of " + un.length);
    }
}
