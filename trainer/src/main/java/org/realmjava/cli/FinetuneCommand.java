package org.realmjava.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.realmjava.trainer.config.FinetuneConfig;
import org.realmjava.trainer.finetune.FinetuneRun;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code realm finetune --config C.json}: Open-QA fine-tuning of the query tower and a span reader, resumable. */
@Command(name = "finetune", mixinStandardHelpOptions = true,
        description = {"Open-QA fine-tuning: the query tower and a span reader trained on question/answer pairs, retrieving from a frozen index",
                "of the corpus. Starts from a pretrain/ICT checkpoint or an encoder. Run the same command again to resume."})
final class FinetuneCommand implements Callable<Integer> {
    @Option(names = "--config", required = true, description = "JSON config (keys: docs/finetuning.md; relative paths resolve against its folder)")
    Path config;

    @Override
    public Integer call() throws Exception {
        FinetuneConfig c = FinetuneConfig.read(config);
        Path last = PretrainCommand.train(c.training().threads(), listener -> FinetuneRun.open(c, listener).run());
        System.err.println("try: realm ask --checkpoint " + last + " \"your question\"");
        return 0;
    }
}
