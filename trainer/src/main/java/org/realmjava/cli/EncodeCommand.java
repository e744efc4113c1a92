package org.realmjava.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.realmjava.mips.FloatMatrix;
import org.realmjava.mips.VectorFiles;
import org.realmjava.trainer.model.DefaultModel;
import org.realmjava.transformer.TextEncoder;
import org.realmjava.transformer.bert.BertEncoder;
import org.realmjava.transformer.tokenizer.WordPieceTokenizer;
import org.realmjava.transformer.weights.ModelFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code realm encode}: one text per line in, one pooled f32 vector per line out (.npy). */
@Command(name = "encode", description = "Embed texts (one per line) with a BERT-family encoder; writes an N x hidden float32 .npy.")
final class EncodeCommand implements Callable<Integer> {
    @Option(names = "--model", description = "ONNX file, or a directory with config.json + model.safetensors (default: the built-in all-MiniLM-L6-v2)")
    Path model;

    @Option(names = "--tokenizer", description = "tokenizer.json or vocab.txt (default: the built-in model's)")
    Path tokenizer;

    @Option(names = "--pooling", description = "cls or mean (default: mean for the built-in model, which was trained that way; cls otherwise)")
    String pooling;

    @Option(names = "--max-len", defaultValue = "512", description = "tokens per text, longer texts are truncated (default ${DEFAULT-VALUE})")
    int maxLen;

    @Option(names = "--batch", defaultValue = "32", description = "texts per forward pass (default ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--weights", defaultValue = "f32", description = "f32, or bf16 to keep the weight matrices in bf16 (half the memory; f32 activations and accumulation) (default ${DEFAULT-VALUE})")
    String weights;

    @Option(names = "--input", required = true, description = "UTF-8 text file, one text per line")
    Path input;

    @Option(names = "--output", required = true, description = "output .npy (float32, one row per input line, in order)")
    Path output;

    @Override
    public Integer call() throws IOException {
        if (Files.isDirectory(input)) throw new IllegalArgumentException(input + ": is a directory, not a text file");
        if (!Files.exists(input)) throw new IllegalArgumentException(input + ": no such file");
        if (Files.isDirectory(output)) throw new IllegalArgumentException("--output " + output + ": is a directory, not a file");
        if ((model == null) != (tokenizer == null)) throw new IllegalArgumentException("give --model and --tokenizer together, or neither (built-in model)");
        TextEncoder.Pooling pool = switch (pooling == null ? (model == null ? "mean" : "cls") : pooling) {
            case "cls" -> TextEncoder.Pooling.CLS;
            case "mean" -> TextEncoder.Pooling.MEAN;
            default -> throw new IllegalArgumentException("--pooling must be cls or mean, not '" + pooling + "'");
        };
        if (!weights.equals("f32") && !weights.equals("bf16")) throw new IllegalArgumentException("--weights must be f32 or bf16, not '" + weights + "'");
        List<String> texts = new java.util.ArrayList<>();
        try (org.realmjava.trainer.corpus.TextLines lines = new org.realmjava.trainer.corpus.TextLines(input)) { // names the file and line of bytes that are not UTF-8
            for (String line; (line = lines.next()) != null; ) texts.add(line);
        }
        BertEncoder enc = ModelFiles.load(model == null ? DefaultModel.file(DefaultModel.ONNX) : model);
        if (weights.equals("bf16")) enc = enc.withBf16Weights();
        WordPieceTokenizer tok = WordPieceTokenizer.load(tokenizer == null ? DefaultModel.file(DefaultModel.TOKENIZER) : tokenizer);
        TextEncoder te = new TextEncoder(enc, tok, pool, maxLen);
        TextEncoder.Stats[] stats = new TextEncoder.Stats[1];
        float[][] rows;
        try (Progress bar = new Progress("encode", texts.size(), "texts")) {
            rows = te.encode(texts, batch, bar::stepTo, stats);
        }
        float[] flat = new float[texts.size() * te.dimension()];
        for (int i = 0; i < rows.length; i++) System.arraycopy(rows[i], 0, flat, i * te.dimension(), te.dimension());
        VectorFiles.writeNpy(output, new FloatMatrix(flat, texts.size(), te.dimension()));
        TextEncoder.Stats s = stats[0];
        System.err.printf(Locale.ROOT, "encoded %d texts, %d tokens (without padding) in %.2f s: %.0f tokens/s%n",
                s.texts(), s.tokens(), s.seconds(), s.tokens() / s.seconds());
        return 0;
    }
}
