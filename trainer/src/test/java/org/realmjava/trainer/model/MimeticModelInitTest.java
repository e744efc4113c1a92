package org.realmjava.trainer.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.realmjava.trainer.config.InitConfig;
import org.realmjava.transformer.bert.BertEncoder;

/** init.random.mimetic reshapes the reader and its MLM head only; the retriever's towers keep BERT's init. */
class MimeticModelInitTest {
    private static float[] weight(BertEncoder e, String name) {
        return e.namedParameters().get("encoder.layer.0.attention.self." + name + ".weight").toFloatArray();
    }

    @Test
    void mimeticReachesTheReaderOnly() {
        RealmModel plain = ModelInit.create(new InitConfig(null, null, null, new InitConfig.RandomBert(2, 64, 4, 128, 0.1, false), null, null), 32, false, 3).model();
        ModelInit.Result r = ModelInit.create(new InitConfig(null, null, null, new InitConfig.RandomBert(2, 64, 4, 128, 0.1, true), null, null), 32, false, 3);
        RealmModel m = r.model();
        assertTrue(r.description().contains("mimetic"), r.description());
        assertArrayEquals(weight(m.reader, "query"), weight(m.reader, "key"));
        assertFalse(Arrays.equals(weight(plain.reader, "query"), weight(plain.reader, "key")));
        for (BertEncoder tower : new BertEncoder[] {m.queryTower, m.docTower}) {
            assertFalse(Arrays.equals(weight(tower, "query"), weight(tower, "key")), "a tower got the mimetic init");
        }
        // the towers are exactly those of the plain init (the same seeds)
        assertArrayEquals(weight(plain.queryTower, "query"), weight(m.queryTower, "query"));
        float[] dense = m.mlm.transform.weight.toFloatArray();
        assertTrue(dense[0] == 1f && dense[1] == 0f && dense[65] == 1f, "the MLM head's dense layer starts as I");
    }
}
