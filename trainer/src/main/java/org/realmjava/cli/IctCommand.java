package org.realmjava.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.realmjava.trainer.config.IctConfig;
import org.realmjava.trainer.pretrain.IctRun;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code realm ict --config C.json}: the Inverse Cloze Task warm start of the retriever. */
@Command(name = "ict", mixinStandardHelpOptions = true,
        description = {"Inverse Cloze Task: train both retriever towers to find a sentence's block among the batch's blocks.",
                "Its checkpoint is a valid init.checkpoint of realm pretrain. Run the same command again to resume."})
final class IctCommand implements Callable<Integer> {
    @Option(names = "--config", required = true, description = "JSON config (keys: docs/pretraining.md)")
    Path config;

    @Override
    public Integer call() throws Exception {
        IctConfig c = IctConfig.read(config);
        PretrainCommand.train(c.threads(), listener -> IctRun.open(c, listener).run());
        return 0;
    }
}
