package org.realmjava.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code realm} command line. Usage errors exit with code 2 and one line on stderr; a failing
 * command prints one line (its message) and exits 2, never a stack trace (set
 * {@code REALM_DEBUG=1} to see one).
 */
@Command(name = "realm", mixinStandardHelpOptions = true, version = "realm-java 0.1.0",
        description = "Retrieval-augmented language model engine (REALM) in Java.",
        subcommands = {DevicesCommand.class, EncodeCommand.class, IndexCommand.class, PretrainCommand.class, PretrainEvalCommand.class, IctCommand.class,
                FinetuneCommand.class, AskCommand.class, EvalCommand.class, DemoCommand.class, SyntheticCommand.class, CheckpointCommand.class, ServeCommand.class})
public final class RealmCli implements Callable<Integer> {

    @Override
    public Integer call() {
        CommandLine.usage(this, System.err);
        return 2;
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** --help, -h, --version and -V on every command and subcommand (help wins over missing required options). */
    private static void withHelp(CommandLine c, String[] version) {
        c.getCommandSpec().mixinStandardHelpOptions(true);
        if (c.getCommandSpec().version().length == 0) c.getCommandSpec().version(version);
        for (CommandLine sub : c.getSubcommands().values()) withHelp(sub, version);
    }

    /** Runs the CLI and returns its exit code (for tests). */
    public static int run(String... args) {
        CommandLine cl = new CommandLine(new RealmCli());
        withHelp(cl, cl.getCommandSpec().version());
        cl.setParameterExceptionHandler((ex, a) -> {
            System.err.println("realm: " + ex.getMessage() + " (see realm --help)");
            return 2;
        });
        cl.setExecutionExceptionHandler((ex, c, parsed) -> {
            if (System.getenv("REALM_DEBUG") != null) ex.printStackTrace();
            String msg = ex.getMessage() == null ? ex.getClass().getSimpleName() : ex.getMessage();
            System.err.println(c.getCommandSpec().qualifiedName() + ": " + msg.lines().findFirst().orElse(msg));
            return 2;
        });
        return cl.execute(args);
    }
}
