package org.realmjava.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.realmjava.trainer.config.PretrainConfig;
import org.realmjava.trainer.eval.RetrievalRecall;
import org.realmjava.trainer.pretrain.PretrainEvaluation;
import org.realmjava.trainer.pretrain.Probe;
import org.realmjava.trainer.qa.QaExample;
import org.realmjava.trainer.qa.QaReader;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code realm pretrain-eval}: held-out masked-token accuracy and zero-shot retrieval recall of a pre-training checkpoint. */
@Command(name = "pretrain-eval", mixinStandardHelpOptions = true,
        description = {"Measure a pre-training checkpoint (or the model its config starts from) on the config's corpus: masked-token accuracy",
                "and log-likelihood on the held-out sentences, on held-out probes (span accuracy, recall@k of the blocks stating each fact),",
                "and retrieval recall@k of the query tower on QA questions.",
                "The last line of stdout is a JSON object with every figure."})
final class PretrainEvalCommand implements Callable<Integer> {
    @Option(names = "--config", required = true, description = "the pre-training config (corpus, held-out split, k, lengths)")
    Path config;

    @Option(names = "--checkpoint", description = "a step-NNNNNNN directory or a checkpoint_dir (its newest); 'init' = the config's starting model "
            + "(default: the newest checkpoint of the config's checkpoint_dir)")
    String checkpoint;

    @Option(names = "--heldout", defaultValue = "400", description = "held-out queries to score (default ${DEFAULT-VALUE}; 0: none)")
    int heldout;

    @Option(names = "--questions", description = "QA file for retrieval recall: SQuAD JSON or JSON lines {\"question\", \"answer\": [...]}")
    Path questions;

    @Option(names = "--articles", description = "SQuAD articles to take questions from, as FIRST-LAST (0-based, inclusive), e.g. 36-47")
    String articles;

    @Option(names = "--probes", description = "held-out probes, JSON lines {\"text\", \"mask\", \"blocks\": [corpus ids]}: span accuracy, "
            + "log-likelihood and recall@k of their blocks")
    Path probes;

    @Option(names = "--predictions", description = "write one JSON line per probe: its line, mask, predicted span, right or not, the rank of its "
            + "first block in the search (-1: beyond the largest --k) and right or not when it reads its own blocks")
    Path predictions;

    @Option(names = "--k", defaultValue = "1,5,20", split = ",", description = "recall cut-offs (default ${DEFAULT-VALUE})")
    int[] ks;

    @Option(names = "--examples", defaultValue = "3", description = "held-out queries to show whose masked span is in another retrieved block (default ${DEFAULT-VALUE})")
    int examples;

    @Override
    public Integer call() throws Exception {
        PretrainConfig c = PretrainConfig.read(config);
        System.setProperty("realm.threads", Integer.toString(c.threads()));
        Path ckpt = "init".equals(checkpoint) ? null : checkpoint == null ? c.checkpointDir() : Path.of(checkpoint);
        List<QaExample> qs = null;
        if (questions != null) {
            qs = QaReader.read(questions, QaReader.guessFormat(questions));
            if (articles != null) {
                String[] r = articles.split("-");
                if (r.length != 2) throw new IllegalArgumentException("--articles must be FIRST-LAST, got '" + articles + "'");
                int lo = Integer.parseInt(r[0].strip()), hi = Integer.parseInt(r[1].strip());
                qs = qs.stream().filter(q -> q.article() >= lo && q.article() <= hi).toList();
                if (qs.isEmpty()) throw new IllegalArgumentException(questions + ": no questions in articles " + articles);
            }
        }
        List<Probe> probeList = probes == null ? null : Probe.read(probes); // a bad file fails before any model is loaded
        ObjectNode out = new ObjectMapper().createObjectNode();
        out.put("checkpoint", ckpt == null ? "init" : ckpt.toString());
        PretrainCommand.CliListener listener = new PretrainCommand.CliListener();
        try (PretrainEvaluation e = PretrainEvaluation.open(c, ckpt, listener)) {
            if (heldout > 0) {
                PretrainEvaluation.Heldout h = e.heldout(heldout);
                System.out.printf(Locale.ROOT, "held-out: %d queries, %d masked tokens: accuracy %.4f, log-likelihood %.4f per token%n", h.queries(),
                        h.maskedTokens(), h.accuracy(), h.logLikelihoodPerToken());
                out.put("heldout_queries", h.queries()).put("heldout_tokens", h.maskedTokens()).put("heldout_accuracy", h.accuracy())
                        .put("heldout_loglik_per_token", h.logLikelihoodPerToken());
            }
            if (probeList != null) {
                PretrainEvaluation.ProbeResult p = e.probes(probeList, ks, probes);
                StringBuilder head = new StringBuilder("| probes | span accuracy | token accuracy | log-likelihood / wordpiece |"),
                        rule = new StringBuilder("|---|---|---|---|"),
                        row = new StringBuilder(String.format(Locale.ROOT, "| %d | %.4f | %.4f | %.4f |", p.probes(), p.spanAccuracy(), p.tokenAccuracy(),
                                p.logLikelihoodPerToken()));
                out.put("probes", p.probes()).put("span_accuracy", p.spanAccuracy()).put("token_accuracy", p.tokenAccuracy())
                        .put("log_likelihood", p.logLikelihoodPerToken());
                for (int i = 0; i < ks.length; i++) {
                    head.append(" recall@").append(ks[i]).append(" |");
                    rule.append("---|");
                    row.append(String.format(Locale.ROOT, " %.4f |", p.recall()[i]));
                    if (Double.isNaN(p.recall()[i])) out.putNull("recall@" + ks[i]);
                    else out.put("recall@" + ks[i], p.recall()[i]);
                }
                if (!Double.isNaN(p.readingSpanAccuracy())) {
                    head.append(" span accuracy reading their blocks |");
                    rule.append("---|");
                    row.append(String.format(Locale.ROOT, " %.4f |", p.readingSpanAccuracy()));
                    out.put("reading_span_accuracy", p.readingSpanAccuracy());
                }
                System.out.println(head);
                System.out.println(rule);
                System.out.println(row);
                if (predictions != null) writePredictions(predictions, p.outcomes());
            }
            if (qs != null) {
                RetrievalRecall.Result r = e.recall(qs, ks);
                StringBuilder line = new StringBuilder("retrieval: " + r.questions() + " questions:");
                for (int i = 0; i < ks.length; i++) {
                    line.append(String.format(Locale.ROOT, " recall@%d %.4f", ks[i], r.recall()[i]));
                    out.put("questions_recall@" + ks[i], r.recall()[i]);
                }
                out.put("questions", r.questions());
                System.out.println(line);
            }
            if (examples > 0 && c.retrieval()) {
                for (String ex : e.factsInOtherBlocks(examples, Math.max(200, heldout))) System.out.println("example: " + ex);
            }
        } finally {
            listener.close();
        }
        System.out.println(out);
        return 0;
    }

    private static void writePredictions(Path file, List<PretrainEvaluation.Outcome> outcomes) throws java.io.IOException {
        ObjectMapper json = new ObjectMapper();
        StringBuilder sb = new StringBuilder();
        for (PretrainEvaluation.Outcome o : outcomes) {
            ObjectNode n = json.createObjectNode().put("line", o.line()).put("mask", o.mask()).put("predicted", o.predicted()).put("right", o.right())
                    .put("first_block_rank", o.firstBlockRank());
            if (o.rightReadingItsBlocks() != null) n.put("right_reading_its_blocks", o.rightReadingItsBlocks());
            sb.append(json.writeValueAsString(n)).append('\n');
        }
        org.realmjava.mips.AtomicFiles.write(file, java.nio.ByteBuffer.wrap(sb.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    }
}
