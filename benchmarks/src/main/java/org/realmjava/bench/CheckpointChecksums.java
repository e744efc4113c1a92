package org.realmjava.bench;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.Locale;
import java.util.stream.Stream;
import org.realmjava.tensor.optim.AdamW;
import org.realmjava.trainer.checkpoint.CheckpointDirectory;
import org.realmjava.trainer.checkpoint.Checksums;
import org.realmjava.trainer.checkpoint.TrainingFiles;
import org.realmjava.trainer.config.InitConfig;
import org.realmjava.trainer.model.ModelInit;

/**
 * What checksumming costs a MiniLM REALM checkpoint (query, document and reader towers, heads,
 * tokenizer, AdamW moments): the whole atomic write (files, checksums.json, fsync, rename), the
 * checksum pass alone, the verification a load makes, and SHA-256 over the same bytes (the
 * alternative the checksum was chosen against); and the finite-state guard every update makes
 * (weights and AdamW moments scanned). Median of rounds. One markdown row on stdout.
 *   CheckpointChecksums [rounds=5]
 */
public final class CheckpointChecksums {
    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        ModelInit.Result init = ModelInit.create(new InitConfig(null, null, null, null, null, null), 384, false, 1);
        AdamW optimizer = AdamW.bertDefaults(init.model().namedParameters());
        TrainingFiles.Tokenizer tokenizer = TrainingFiles.Tokenizer.of(init.tokenizerFile());
        Path root = Files.createTempDirectory("realm-checksums");
        double[] write = new double[rounds], sum = new double[rounds], verify = new double[rounds], sha = new double[rounds];
        long bytes = 0;
        for (int r = 0; r < rounds; r++) {
            long t0 = System.nanoTime();
            Path ckpt = CheckpointDirectory.write(root, r + 1, 1, tmp -> TrainingFiles.write(tmp, init.model(), tokenizer, optimizer));
            write[r] = (System.nanoTime() - t0) / 1e9;
            Files.delete(ckpt.resolve(Checksums.FILE));
            t0 = System.nanoTime();
            Checksums.write(ckpt);
            sum[r] = (System.nanoTime() - t0) / 1e9;
            t0 = System.nanoTime();
            String problem = Checksums.problem(ckpt);
            verify[r] = (System.nanoTime() - t0) / 1e9;
            if (problem != null) throw new IllegalStateException(problem);
            t0 = System.nanoTime();
            bytes = sha256(ckpt);
            sha[r] = (System.nanoTime() - t0) / 1e9;
        }
        CheckpointDirectory.deleteTree(root);
        // the guard before every update: every weight and both AdamW moments scanned for a NaN or an infinity
        double[] finite = new double[rounds];
        for (int r = 0; r < rounds; r++) {
            long t0 = System.nanoTime();
            if (optimizer.firstNonFinite() != null) throw new IllegalStateException("non-finite state");
            finite[r] = (System.nanoTime() - t0) / 1e9;
        }
        System.out.printf(Locale.ROOT, "| %.0f | %.2f | %.3f | %.3f | %.3f | %.1f | %.4f |%n", bytes / 1e6, median(write), median(sum), median(verify), median(sha),
                bytes / 1e9 / median(verify), median(finite));
    }

    private static long sha256(Path dir) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
        long n = 0;
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(Files::isRegularFile).sorted().toList()) {
                try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
                    while (ch.read(buf) >= 0) {
                        buf.flip();
                        n += buf.remaining();
                        md.update(buf);
                        buf.clear();
                    }
                }
            }
        }
        md.digest();
        return n;
    }

    private static double median(double[] v) {
        double[] c = v.clone();
        java.util.Arrays.sort(c);
        return c[c.length / 2];
    }
}
