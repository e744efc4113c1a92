package org.realmjava.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.realmjava.trainer.synthetic.SyntheticWorld;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code realm synthetic --out DIR}: writes a synthetic world (corpus.jsonl, probes.jsonl) for pre-training experiments. */
@Command(name = "synthetic", mixinStandardHelpOptions = true,
        description = {"Write a synthetic world of invented people: corpus.jsonl (each person's facts in two blocks worded differently, plus",
                "town blocks) and probes.jsonl (the facts in a third wording, one masked, with the ids of the blocks stating it).",
                "A model can learn these facts only from the corpus: realm pretrain on it, realm pretrain-eval --probes to measure."})
final class SyntheticCommand implements Callable<Integer> {
    @Option(names = "--out", required = true, description = "folder to write corpus.jsonl and probes.jsonl into")
    Path out;

    @Option(names = "--people", defaultValue = "200", description = "invented people (default ${DEFAULT-VALUE}; at least 4)")
    int people;

    @Option(names = "--seed", defaultValue = "1", description = "the world's seed (default ${DEFAULT-VALUE})")
    long seed;

    @Override
    public Integer call() throws Exception {
        SyntheticWorld.World w = SyntheticWorld.generate(people, seed);
        SyntheticWorld.write(w, out);
        System.err.printf("%s: %d corpus documents (%d people, %d towns), %d probes%n", out, w.corpus().size(), w.people().size(), w.towns().size(),
                w.probes().size());
        return 0;
    }
}
