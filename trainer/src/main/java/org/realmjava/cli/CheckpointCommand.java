package org.realmjava.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.realmjava.trainer.checkpoint.CheckpointDirectory;
import org.realmjava.trainer.checkpoint.Checksums;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code realm checkpoint verify D}: whether each checkpoint's files match their checksums. */
@Command(name = "checkpoint", description = "Inspect training checkpoints.", subcommands = {CheckpointCommand.Verify.class})
final class CheckpointCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        CommandLine.usage(this, System.err);
        return 2;
    }

    @Command(name = "verify", description = {"Check every file of a checkpoint (a step-NNNNNNN directory) or of each checkpoint of a run's",
            "checkpoint_dir (its ICT stage's too) against its checksums.json. Prints one line per checkpoint: good, or the damaged file",
            "and what is wrong. Exit 0 when all are good, 1 when one is damaged, 2 on bad input."})
    static final class Verify implements Callable<Integer> {
        @Parameters(index = "0", description = "a step directory or a checkpoint_dir")
        Path dir;

        @Override
        public Integer call() throws Exception {
            if (!Files.isDirectory(dir)) throw new IllegalArgumentException(dir + ": no such directory");
            List<Path> checkpoints = new ArrayList<>();
            if (CheckpointDirectory.stepOf(dir) >= 0) {
                checkpoints.add(dir);
            } else {
                checkpoints.addAll(CheckpointDirectory.list(dir));
                try (Stream<Path> sub = Files.list(dir)) {
                    for (Path p : sub.filter(Files::isDirectory).sorted().toList()) checkpoints.addAll(CheckpointDirectory.list(p));
                }
            }
            if (checkpoints.isEmpty()) throw new IllegalArgumentException(dir + ": no step-NNNNNNN checkpoints here");
            int bad = 0;
            for (Path c : checkpoints) {
                String problem = Checksums.problem(c);
                System.out.println(c + ": " + (problem == null ? "good" : "DAMAGED: " + problem));
                if (problem != null) bad++;
            }
            if (bad > 0) System.err.println(bad + " of " + checkpoints.size() + " checkpoints damaged");
            return bad == 0 ? 0 : 1;
        }
    }
}
