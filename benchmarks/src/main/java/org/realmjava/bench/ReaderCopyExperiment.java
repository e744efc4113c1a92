package org.realmjava.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeSet;
import org.realmjava.tensor.Ops;
import org.realmjava.tensor.Tensor;
import org.realmjava.tensor.optim.AdamW;
import org.realmjava.tensor.optim.GradientClipping;
import org.realmjava.trainer.model.DefaultModel;
import org.realmjava.transformer.bert.BertConfig;
import org.realmjava.transformer.bert.BertEncoder;
import org.realmjava.transformer.bert.MaskedLanguageModelHead;
import org.realmjava.transformer.bert.MimeticInit;
import org.realmjava.transformer.tokenizer.WordPieceTokenizer;

/**
 * Can a random tiny BERT reader (2 layers, hidden 128, 2 heads, REALM's synthetic-world shape)
 * learn to copy a masked answer from the block it reads, and how many steps does it take? The
 * reader alone, outside the REALM step: [CLS] query [SEP] block [SEP], masked-LM loss at the
 * query's masked wordpieces, AdamW (BERT defaults), clip 1.0, linear warm-up of 50 steps, then a
 * constant learning rate. Prints the training accuracy (argmax over the vocabulary) per 50 steps.
 *
 * <p>Sources of examples:
 * <ul>
 * <li>{@code type}: 12 random wordpieces (one masked) and a block of 30 random wordpieces holding one
 *     answer from a class of 200 that occurs nowhere else: copy the class member.</li>
 * <li>{@code cue}: two answers in the block (classes of 200 and 300); the wordpiece before the mask
 *     says which class is asked for.</li>
 * <li>{@code memo}: as cue, plus a person token in query and block whose answers are fixed, so
 *     memorising is a second way; every tenth batch (no update) gives random answers, so only
 *     copying solves it ("copy-probe").</li>
 * <li>{@code exact}: the query's 12 wordpieces occur in order in the block: copy by matching the
 *     mask's neighbours (an induction head).</li>
 * <li>a corpus JSON-lines file (e.g. {@code realm synthetic}'s): each sentence with one number
 *     wordpiece masked (replaced, in the target and everywhere in the block, by a random number of
 *     the corpus, so memorising cannot answer), or one multi-piece word masked (copied as is).</li>
 * <li>{@code realm:FILE}: the queries {@code realm pretrain} makes of a corpus (salient masking,
 *     query_len 32, block_len 64, in its order), each read with its own block as
 *     {@code warmup_own_block} reads it: the pre-training step's reader inputs outside its loop.</li>
 * <li>{@code other:FILE}: the same queries, each read with another block of its entity (source ids
 *     up to the last '-', as {@code realm synthetic} names them) that states the masked span in other
 *     words, the span swapped there and in the target for another query's: reading a paraphrase,
 *     what the probes ask (queries without such a block are skipped).</li>
 * </ul>
 * With {@code null}, the loss is REALM's marginal over the block and the null document (each with
 * prior 1/2): -log (p(y|z,x) + p(y|null,x)) / 2.
 *   ReaderCopyExperiment SOURCE LR DROPOUT BATCH STEPS [null]
 *
 * <p>The reader's shape and initialisation through JVM flags (docs/experiments.md, "mimetic
 * initialisation"): {@code -Dlayers -Dheads -Dhidden} (2, 2, 128), {@code -Dpos=sin:SCALE}
 * (sinusoidal position embeddings), {@code -Dqk=S} (W_q = W_k ~ N(0, S)), {@code -Dov=G}
 * (W_o W_v ~ G I), {@code -Dhead=G} (the MLM head's dense = G I), {@code -Dwarm=N} (warm-up steps, 50),
 * {@code -Dsvd=S} (the corpus's co-occurrence vectors, {@code CorpusEmbeddings}, added at length S;
 * {@code -Dwindow=W} neighbours each side, 2). For the realm: and other: sources, {@code -Dqlen=N}
 * (query_len, 32), {@code -Dcontext=block} (query_context) and {@code -Dprobes=FILE -Devery=N}
 * (the probes' span accuracy every N steps, each probe read with its first block); {@code -Dvocab=FILE}
 * (a vocab.txt or tokenizer.json in place of the built-in model's; [CLS], [SEP], [MASK] at ids 101-103).
 */
public final class ReaderCopyExperiment {
    private record Example(int[] ids, int[] types, int[] positions, int[] targets, int queryLen) {}

    private static final int HIDDEN = Integer.getInteger("hidden", 128), CLS = 101, SEP = 102, MASK = 103;
    /** -Dqlen: query_len of the realm: and other: sources (32, as the synthetic configs). */
    private static final int QUERY_LEN = Integer.getInteger("qlen", 32);

    public static void main(String[] args) throws Exception {
        String source = args[0];
        float lr = Float.parseFloat(args[1]), dropout = Float.parseFloat(args[2]);
        int batch = Integer.parseInt(args[3]), steps = Integer.parseInt(args[4]);
        boolean nullMixture = args.length > 5 && args[5].equals("null");
        WordPieceTokenizer tok = WordPieceTokenizer.load(System.getProperty("vocab") != null ? Path.of(System.getProperty("vocab"))
                : DefaultModel.file(DefaultModel.TOKENIZER));
        Corpus corpus = Files.exists(Path.of(source)) ? Corpus.read(Path.of(source), tok) : null;
        RealmQueries realm = source.startsWith("realm:") ? RealmQueries.of(Path.of(source.substring(6)), tok, false)
                : source.startsWith("other:") ? RealmQueries.of(Path.of(source.substring(6)), tok, true) : null;
        BertEncoder reader = BertEncoder.random(BertConfig.tiny(tok.vocabSize(), HIDDEN, Integer.getInteger("layers", 2), Integer.getInteger("heads", 2), 4 * HIDDEN, 512, dropout), 1);
        String pos = System.getProperty("pos", "");
        if (pos.startsWith("sin:")) {
            float scale = Float.parseFloat(pos.substring(4));
            int rows = (int) reader.positionEmbeddings.size(0);
            float[] pe = new float[rows * HIDDEN];
            for (int r = 0; r < rows; r++) for (int i = 0; i < HIDDEN / 2; i++) {
                double w = Math.pow(10000, -2.0 * i / HIDDEN);
                pe[r * HIDDEN + 2 * i] = (float) (scale * Math.sin(r * w));
                pe[r * HIDDEN + 2 * i + 1] = (float) (scale * Math.cos(r * w));
            }
            reader.positionEmbeddings.copyFrom(Tensor.of(pe, rows, HIDDEN));
        }
        // -Dqk=S: W_q = W_k ~ N(0, S); -Dov=G: W_o W_v ~ G I; -Dhead=G: the head's dense = G I (MimeticInit)
        float qk = Float.parseFloat(System.getProperty("qk", "0")), ov = Float.parseFloat(System.getProperty("ov", "0"));
        MimeticInit.apply(reader, new java.util.Random(11), qk, ov);
        // -Dsvd=SCALE: add the corpus's co-occurrence vectors (CorpusEmbeddings) at that length to the word embeddings
        float svd = Float.parseFloat(System.getProperty("svd", "0"));
        if (svd > 0) {
            Path file = Path.of(source.substring(source.indexOf(':') + 1));
            List<int[]> seqs = new ArrayList<>();
            for (var d : org.realmjava.trainer.corpus.CorpusReader.read(file, org.realmjava.trainer.corpus.CorpusFormat.JSONL, 0)) {
                seqs.add(tok.encode(d.title() + " " + d.text(), null, 512, WordPieceTokenizer.Truncation.LONGEST_FIRST).ids());
            }
            long t = System.nanoTime();
            float[] v = org.realmjava.trainer.model.CorpusEmbeddings.compute(seqs, tok.vocabSize(), HIDDEN, Integer.getInteger("window", 2), 5);
            System.out.printf(Locale.ROOT, "corpus vectors in %.1f s%n", (System.nanoTime() - t) / 1e9);
            org.realmjava.trainer.model.CorpusEmbeddings.addTo(reader, v, svd);
        }
        MaskedLanguageModelHead head = new MaskedLanguageModelHead(reader, 2);
        Map<String, Tensor> params = new LinkedHashMap<>(reader.namedParameters());
        head.collectParameters("", params);
        float headGain = Float.parseFloat(System.getProperty("head", "0"));
        if (headGain > 0) MimeticInit.apply(head, headGain);
        AdamW opt = AdamW.bertDefaults(params);
        // -Dprobes=FILE (with realm: or other:): every -Devery steps (100), the span accuracy on those probes, each read
        // with its first block, by kind of fact (a 4-digit number, another number, a word): what pretrain-eval's
        // reading_span_accuracy measures, outside REALM's loop
        List<Probe> probes = System.getProperty("probes") == null || realm == null ? List.of() : realm.probes(Path.of(System.getProperty("probes")), tok);
        int every = Integer.getInteger("every", 100);
        SplittableRandom data = new SplittableRandom(7), drop = new SplittableRandom(8);
        double hits = 0, count = 0, loss = 0, probeHits = 0, probeCount = 0;
        int losses = 0;
        long t0 = System.nanoTime();
        for (int s = 0; s < steps; s++) {
            boolean probe = source.equals("memo") && s % 10 == 4;
            List<Example> ex = new ArrayList<>();
            for (int i = 0; i < batch; i++) ex.add(realm != null ? realm.example((long) s * batch + i) : corpus != null ? corpus.example(data) : synthetic(source, data, probe));
            Tensor[] read = read(reader, head, ex, drop, false);
            Tensor ll = read[0];
            if (nullMixture) {
                Tensor nul = read(reader, head, ex, drop, true)[0];
                Tensor both = Ops.stack(List.of(ll, nul), 1).reshape(ll.size(0), 2, 1);
                float[] ones = new float[(int) ll.size(0)];
                Arrays.fill(ones, 1f);
                ll = Ops.marginalLogLikelihood(Tensor.zeros(ll.size(0), 2), both, Tensor.of(ones, ll.size(0), 1));
            }
            int right = correct(read[1], ex);
            int n = (int) ll.size(0);
            if (probe) {
                probeHits += right;
                probeCount += n;
                continue;
            }
            hits += right;
            count += n;
            Tensor l = ll.sum().scale(-1f / n);
            loss += l.item();
            losses++;
            l.backward();
            GradientClipping.clipGlobalNorm(params.values(), 1.0);
            opt.step(lr * Math.min(1f, (s + 1) / (float) Integer.getInteger("warm", 50)));
            opt.zeroGrad();
            if (!probes.isEmpty() && ((s + 1) % every == 0 || s == 0)) System.out.println("step " + (s + 1) + " probes " + probeAccuracy(reader, head, probes));
            if ((s + 1) % 50 == 0) {
                System.out.printf(Locale.ROOT, "step %d loss %.3f acc %.3f%s (%.0f s)%n", s + 1, loss / losses, hits / count,
                        probeCount > 0 ? String.format(Locale.ROOT, " copy-probe %.3f", probeHits / probeCount) : "", (System.nanoTime() - t0) / 1e9);
                hits = count = loss = probeHits = probeCount = 0;
                losses = 0;
            }
        }
    }

    /** log p(target) per masked wordpiece [n] and the logits [n, vocab]; withoutBlock: [CLS] query [SEP] [SEP] (the null document). */
    private static Tensor[] read(BertEncoder reader, MaskedLanguageModelHead head, List<Example> ex, SplittableRandom drop, boolean withoutBlock) {
        int b = ex.size(), len = 0, n = 0;
        for (Example e : ex) {
            len = Math.max(len, withoutBlock ? e.queryLen() + 1 : e.ids().length);
            n += e.positions().length;
        }
        int[] ids = new int[b * len], types = new int[b * len], rows = new int[n], targets = new int[n];
        float[] mask = new float[b * len];
        for (int i = 0, r = 0; i < b; i++) {
            Example e = ex.get(i);
            int l = withoutBlock ? e.queryLen() + 1 : e.ids().length;
            for (int j = 0; j < l; j++) {
                ids[i * len + j] = withoutBlock && j == l - 1 ? SEP : e.ids()[j];
                types[i * len + j] = withoutBlock && j == l - 1 ? 1 : e.types()[j];
                mask[i * len + j] = 1f;
            }
            for (int k = 0; k < e.positions().length; k++, r++) {
                rows[r] = i * len + e.positions()[k];
                targets[r] = e.targets()[k];
            }
        }
        Tensor h = reader.forward(Tensor.ofInts(ids, b, len), Tensor.ofInts(types, b, len), Tensor.of(mask, b, len), drop).reshape((long) b * len, HIDDEN);
        Tensor logits = head.logits(Ops.indexSelect(h, 0, Tensor.ofInts(rows, n)));
        return new Tensor[] {Ops.targetLogProb(logits, Tensor.ofInts(targets, n)), logits};
    }

    /** A probe read with its first block; kind: year (4 digits), count (other digits) or word. */
    private record Probe(Example example, String kind) {}

    /** Span accuracy (every masked wordpiece right by argmax), in all and by kind, without dropout. */
    private static String probeAccuracy(BertEncoder reader, MaskedLanguageModelHead head, List<Probe> probes) {
        Map<String, int[]> byKind = new java.util.TreeMap<>();
        try (var g = org.realmjava.tensor.Autograd.noGrad()) {
            for (int from = 0; from < probes.size(); from += 32) {
                List<Probe> part = probes.subList(from, Math.min(probes.size(), from + 32));
                List<Example> ex = part.stream().map(Probe::example).toList();
                float[] lg = read(reader, head, ex, null, false)[1].toFloatArray();
                int v = (int) (lg.length / ex.stream().mapToInt(e -> e.targets().length).sum()), r = 0;
                for (Probe p : part) {
                    boolean all = true;
                    for (int target : p.example().targets()) {
                        int best = 0;
                        for (int u = 1; u < v; u++) if (lg[r * v + u] > lg[r * v + best]) best = u;
                        all &= best == target;
                        r++;
                    }
                    for (String k : new String[] {"all", p.kind()}) {
                        int[] c = byKind.computeIfAbsent(k, x -> new int[2]);
                        c[0] += all ? 1 : 0;
                        c[1]++;
                    }
                }
            }
        }
        StringBuilder sb = new StringBuilder();
        byKind.forEach((k, c) -> sb.append(String.format(Locale.ROOT, "%s %.3f (%d) ", k, c[0] / (double) c[1], c[1])));
        return sb.toString().strip();
    }

    private static int correct(Tensor logits, List<Example> ex) {
        float[] lg = logits.detach().toFloatArray();
        int v = (int) logits.size(1), r = 0, right = 0;
        for (Example e : ex) {
            for (int target : e.targets()) {
                int best = 0;
                for (int u = 1; u < v; u++) if (lg[r * v + u] > lg[r * v + best]) best = u;
                if (best == target) right++;
                r++;
            }
        }
        return right;
    }

    /** Pre-training queries of a corpus as {@code realm pretrain} makes them, each with its own block. */
    private record RealmQueries(org.realmjava.trainer.pretrain.PretrainData data, org.realmjava.trainer.retrieval.BlockInputs blocks,
                                List<org.realmjava.trainer.corpus.Block> list, boolean other, List<List<int[]>> spansBySize) {
        static RealmQueries of(Path file, WordPieceTokenizer tok, boolean other) {
            var docs = org.realmjava.trainer.corpus.CorpusReader.read(file, org.realmjava.trainer.corpus.CorpusFormat.JSONL, 0);
            var blocks = new org.realmjava.trainer.corpus.BlockSplitter(tok, 64).split(docs);
            List<String> titles = new ArrayList<>();
            for (var b : blocks) titles.add(b.title());
            // -Dcontext=block: queries hold their block's neighbouring sentences (query_context)
            var masking = new org.realmjava.trainer.corpus.Masking(tok, org.realmjava.trainer.corpus.Masking.Strategy.SALIENT, QUERY_LEN, titles,
                    System.getProperty("context", "sentence").equals("block") ? org.realmjava.trainer.corpus.Masking.Context.BLOCK
                            : org.realmjava.trainer.corpus.Masking.Context.SENTENCE);
            var data = new org.realmjava.trainer.pretrain.PretrainData(blocks, masking, 1, 0);
            List<List<int[]>> bySize = new ArrayList<>();
            for (int i = 0; i < data.trainingQueries(); i++) {
                int[] t = data.query(i).targets();
                while (bySize.size() <= t.length) bySize.add(new ArrayList<>());
                bySize.get(t.length).add(t);
            }
            return new RealmQueries(data, new org.realmjava.trainer.retrieval.BlockInputs(blocks, tok, 64), blocks, other, bySize);
        }

        /** The probes of a probes.jsonl as the reader reads them with their first block (as pretrain-eval masks them). */
        List<Probe> probes(Path file, WordPieceTokenizer tok) {
            Map<String, Integer> byId = new java.util.HashMap<>();
            for (var b : list) byId.putIfAbsent(b.sourceId(), b.index());
            List<Probe> out = new ArrayList<>();
            for (var p : org.realmjava.trainer.pretrain.Probe.read(file)) {
                var q = p.toQuery(tok, QUERY_LEN);
                int[] block = blocks.ids(byId.get(p.blocks().get(0)));
                int len = q.ids().length + block.length - 1;
                int[] ids = Arrays.copyOf(q.ids(), len), types = new int[len];
                for (int j = 1; j < block.length; j++) {
                    ids[q.ids().length + j - 1] = block[j];
                    types[q.ids().length + j - 1] = 1;
                }
                String kind = p.mask().matches("\\d{4}") ? "year" : p.mask().matches("\\d+") ? "count" : "word";
                out.add(new Probe(new Example(ids, types, q.positions(), q.targets(), q.ids().length), kind));
            }
            return out;
        }

        /** The source id up to its last '-' (person-0001-register: person-0001): blocks of one entity. */
        private static String entity(String sourceId) {
            int cut = sourceId.lastIndexOf('-');
            return cut < 0 ? sourceId : sourceId.substring(0, cut);
        }

        Example example(long position) {
            var q = data.query(position);
            int read = q.block();
            int[] targets = q.targets();
            int[] block = blocks.ids(read);
            if (other) {
                // other:FILE: the fact read off another block of the same entity (in other words), its span swapped
                // there and in the target for another query's span of as many wordpieces
                String who = entity(list.get(q.block()).sourceId());
                int found = -1;
                for (var b : list) {
                    if (b.index() != q.block() && entity(b.sourceId()).equals(who)
                            && !org.realmjava.trainer.pretrain.RealmPretrainer.occurrences(blocks.ids(b.index()), targets).isEmpty()) {
                        found = b.index();
                        break;
                    }
                }
                if (found < 0) return example(position + data.trainingQueries() * 7L + 1);
                List<int[]> pool = spansBySize.get(targets.length);
                int[] donor = pool.get((int) Math.floorMod(position * 2654435761L, (long) pool.size()));
                block = blocks.ids(found).clone();
                for (int at : org.realmjava.trainer.pretrain.RealmPretrainer.occurrences(block, targets)) System.arraycopy(donor, 0, block, at, donor.length);
                targets = donor;
            }
            int len = q.ids().length + block.length - 1;
            int[] ids = Arrays.copyOf(q.ids(), len), types = new int[len];
            for (int j = 1; j < block.length; j++) {
                ids[q.ids().length + j - 1] = block[j];
                types[q.ids().length + j - 1] = 1;
            }
            return new Example(ids, types, q.positions(), targets, q.ids().length);
        }
    }

    /** One example of the synthetic copy tasks (see the class comment). */
    private static Example synthetic(String mode, SplittableRandom rng, boolean probe) {
        int lq = 12, lb = 30, len = 1 + lq + 1 + lb + 1;
        int[] q = new int[lq], ids = new int[len], types = new int[len];
        for (int j = 0; j < lq; j++) q[j] = 2000 + rng.nextInt(1000);
        int m = 2 + rng.nextInt(lq - 3), off = rng.nextInt(lb - lq + 1);
        ids[0] = CLS;
        for (int j = 0; j < lq; j++) ids[1 + j] = j == m ? MASK : q[j];
        ids[1 + lq] = SEP;
        for (int j = 0; j < lb; j++) {
            ids[2 + lq + j] = mode.equals("exact") && j >= off && j < off + lq ? q[j - off] : 2000 + rng.nextInt(1000);
            types[2 + lq + j] = 1;
        }
        ids[len - 1] = SEP;
        types[len - 1] = 1;
        int target = q[m];
        switch (mode) {
            case "type" -> {
                target = 5000 + rng.nextInt(200);
                ids[2 + lq + rng.nextInt(lb)] = target;
            }
            case "cue", "memo" -> {
                int person = rng.nextInt(300);
                boolean fixed = mode.equals("memo") && !probe;
                int a = fixed ? 5000 + (person * 7919) % 200 : 5000 + rng.nextInt(200), b = fixed ? 6000 + (person * 104729) % 300 : 6000 + rng.nextInt(300);
                int at = rng.nextInt(lb - 2);
                ids[2 + lq + at] = a;
                ids[2 + lq + at + 1 + rng.nextInt(lb - at - 1)] = b;
                boolean wantA = rng.nextBoolean();
                ids[m] = wantA ? 7000 : 7001; // the wordpiece before the mask (query position m - 1 + 1)
                if (mode.equals("memo")) {
                    ids[m + 2] = 8000 + person;
                    for (int j = 0; j < lb; j++) if (ids[2 + lq + j] != a && ids[2 + lq + j] != b) {
                        ids[2 + lq + j] = 8000 + person;
                        break;
                    }
                }
                target = wantA ? a : b;
            }
            case "exact" -> { }
            default -> throw new IllegalArgumentException("unknown source " + mode + " (type, cue, memo, exact or a corpus file)");
        }
        return new Example(ids, types, new int[] {1 + m}, new int[] {target}, 1 + lq);
    }

    /** Sentences of a corpus with their blocks ([CLS] title [SEP] text [SEP], 64 wordpieces), and the masks that can be made. */
    private record Corpus(List<int[]> queries, List<int[]> blocks, List<int[]> spans, int[] numbers) {
        static Corpus read(Path file, WordPieceTokenizer tok) throws Exception {
            ObjectMapper json = new ObjectMapper();
            List<int[]> queries = new ArrayList<>(), blocks = new ArrayList<>(), spans = new ArrayList<>();
            TreeSet<Integer> numbers = new TreeSet<>();
            for (String line : Files.readAllLines(file)) {
                if (line.isBlank()) continue;
                JsonNode d = json.readTree(line);
                int[] block = tok.encode(d.get("title").asText(), d.get("text").asText(), 64, WordPieceTokenizer.Truncation.LONGEST_FIRST).ids();
                for (String sentence : d.get("text").asText().split("(?<=\\.) ")) {
                    int[] q = tok.encode(sentence, null, 32, WordPieceTokenizer.Truncation.LONGEST_FIRST).ids();
                    for (int p = 1; p < q.length - 1; p++) {
                        String t = tok.token(q[p]);
                        int n = 1;
                        if (t.matches("[0-9]+")) numbers.add(q[p]);
                        else if (!t.startsWith("##")) while (p + n < q.length - 1 && tok.token(q[p + n]).startsWith("##")) n++;
                        if (!t.matches("[0-9]+") && n == 1) continue;
                        queries.add(q);
                        blocks.add(block);
                        spans.add(new int[] {p, n});
                    }
                }
            }
            System.out.println(spans.size() + " masks (numbers and multi-piece words), " + numbers.size() + " number wordpieces");
            return new Corpus(queries, blocks, spans, numbers.stream().mapToInt(Integer::intValue).toArray());
        }

        Example example(SplittableRandom rng) {
            int e = rng.nextInt(spans.size()), p = spans.get(e)[0], n = spans.get(e)[1];
            int[] q = queries.get(e), block = blocks.get(e);
            int original = q[p], swapped = n == 1 ? numbers[rng.nextInt(numbers.length)] : original;
            int len = q.length + block.length - 1;
            int[] ids = new int[len], types = new int[len], positions = new int[n], targets = new int[n];
            for (int j = 0; j < q.length; j++) ids[j] = j >= p && j < p + n ? MASK : q[j];
            for (int j = 1; j < block.length; j++) {
                ids[q.length + j - 1] = n == 1 && block[j] == original ? swapped : block[j];
                types[q.length + j - 1] = 1;
            }
            for (int k = 0; k < n; k++) {
                positions[k] = p + k;
                targets[k] = k == 0 ? swapped : q[p + k];
            }
            return new Example(ids, types, positions, targets, q.length);
        }
    }
}
