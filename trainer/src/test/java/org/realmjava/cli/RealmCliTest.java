package org.realmjava.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class RealmCliTest {
    private static String[] run(String... args) {
        return CliRun.of(args).asArray();
    }

    @Test
    void devicesReportsCpuAndCuda() {
        String[] r = run("devices");
        assertEquals("0", r[0]);
        assertTrue(r[1].contains("CPU:") && r[1].contains("SIMD:") && r[1].contains("CUDA:") && r[1].contains("Backend:"), r[1]);
    }

    /** The README's module table names every command the CLI registers (and no other). */
    @Test
    void readmeListsEveryRegisteredCommand() throws Exception {
        java.nio.file.Path readme = java.nio.file.Path.of("..", "README.md");
        String row = java.nio.file.Files.readAllLines(readme).stream().filter(l -> l.startsWith("| `trainer/` |")).findFirst().orElseThrow();
        String listed = row.substring(row.indexOf("CLI ("), row.lastIndexOf(')'));
        java.util.Set<String> inReadme = new java.util.TreeSet<>();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("`([a-z -]+)`").matcher(listed);
        while (m.find()) inReadme.add(m.group(1));
        java.util.Set<String> registered = new java.util.TreeSet<>();
        picocli.CommandLine cli = new picocli.CommandLine(new RealmCli());
        cli.getSubcommands().forEach((name, sub) -> {
            if (sub.getSubcommands().isEmpty()) registered.add(name);
            else sub.getSubcommands().keySet().stream().filter(n -> !n.equals("help")).forEach(n -> registered.add(name + " " + n));
        });
        registered.remove("help");
        assertEquals(registered, inReadme, "README.md's trainer/ row against RealmCli's subcommands");
    }

    @Test
    void unknownCommandIsExitTwoWithOneLine() {
        String[] r = run("frobnicate");
        assertEquals("2", r[0]);
        assertTrue(r[2].startsWith("realm: "), r[2]);
        assertEquals(1, r[2].strip().lines().count(), r[2]);
        assertTrue(!r[2].contains("Exception"), r[2]);
    }

    @Test
    void helpAndVersionWorkOnEveryCommandAndSubcommand() {
        String[][] commands = {{}, {"devices"}, {"encode"}, {"index"}, {"index", "build"}, {"index", "search"}, {"pretrain"}, {"pretrain-eval"}, {"ict"},
            {"finetune"}, {"ask"}, {"eval"}, {"demo"}};
        for (String[] c : commands) {
            for (String flag : new String[] {"--help", "-h"}) {
                String[] args = java.util.Arrays.copyOf(c, c.length + 1);
                args[c.length] = flag;
                CliRun r = CliRun.of(args);
                assertEquals(0, r.code(), String.join(" ", args) + ": " + r.err());
                assertTrue(r.out().contains("Usage: realm"), String.join(" ", args) + ": " + r.out());
            }
        }
        CliRun v = CliRun.of("--version");
        assertEquals(0, v.code());
        assertTrue(v.out().startsWith("realm-java "), v.out());
    }
}
