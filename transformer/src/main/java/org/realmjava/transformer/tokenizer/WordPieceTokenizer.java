package org.realmjava.transformer.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * BERT's WordPiece tokenizer, configured from a Hugging Face {@code tokenizer.json} (or a plain
 * {@code vocab.txt}): added/special tokens matched in the raw text, {@link BertNormalizer}, the
 * BERT pre-tokenizer (split on whitespace, isolate punctuation), greedy longest-match WordPiece
 * with a continuation prefix ({@code ##}), {@code [UNK]} for words it cannot cover or that are
 * longer than maxInputCharsPerWord, and the {@code [CLS] a [SEP] (b [SEP])} template. Every token
 * keeps its character range in the input.
 */
public final class WordPieceTokenizer {
    /** How to shorten inputs longer than maxLength. */
    public enum Truncation { LONGEST_FIRST, ONLY_SECOND, NONE }

    private final Map<String, Integer> vocab;
    private final String[] idToToken;
    private final BertNormalizer normalizer;
    private final String unkToken, prefix;
    private final int unkId, clsId, sepId, padId;
    private final int maxInputCharsPerWord;
    private final List<String> addedTokens; // longest first, matched in raw text
    private final Map<String, Integer> addedIds;

    private WordPieceTokenizer(Map<String, Integer> vocab, BertNormalizer normalizer, String unk, String prefix, int maxChars,
                               String cls, String sep, String pad, Map<String, Integer> added) {
        this.vocab = vocab;
        int max = 0;
        for (int id : vocab.values()) max = Math.max(max, id);
        for (int id : added.values()) max = Math.max(max, id);
        this.idToToken = new String[max + 1];
        vocab.forEach((t, id) -> idToToken[id] = t);
        added.forEach((t, id) -> idToToken[id] = t);
        this.normalizer = normalizer;
        this.unkToken = unk;
        this.prefix = prefix;
        this.maxInputCharsPerWord = maxChars;
        this.unkId = require(unk, vocab, added);
        this.clsId = require(cls, vocab, added);
        this.sepId = require(sep, vocab, added);
        this.padId = require(pad, vocab, added);
        this.addedIds = Map.copyOf(added);
        List<String> a = new ArrayList<>(added.keySet());
        a.sort((x, y) -> y.length() - x.length());
        this.addedTokens = List.copyOf(a);
    }

    private static int require(String token, Map<String, Integer> vocab, Map<String, Integer> added) {
        Integer id = added.containsKey(token) ? added.get(token) : vocab.get(token);
        if (id == null) throw new TokenizerFormatException("tokenizer: the vocabulary has no " + token + " token");
        return id;
    }

    /** Loads tokenizer.json (Hugging Face) or vocab.txt (one token per line, BERT uncased defaults). */
    public static WordPieceTokenizer load(Path file) {
        if (!Files.exists(file)) throw new TokenizerFormatException(file + ": no such file");
        try (InputStream in = Files.newInputStream(file)) {
            return file.getFileName().toString().endsWith(".txt") ? fromVocabTxt(in, true) : fromTokenizerJson(in, file.toString());
        } catch (IOException e) {
            throw new TokenizerFormatException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    public static WordPieceTokenizer fromVocabTxt(InputStream in, boolean lowercase) throws IOException {
        Map<String, Integer> vocab = new HashMap<>();
        String[] lines = new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n");
        for (String line : lines) {
            String t = line.endsWith("\r") ? line.substring(0, line.length() - 1) : line;
            if (!t.isEmpty()) vocab.putIfAbsent(t, vocab.size());
        }
        Map<String, Integer> added = new HashMap<>();
        for (String s : new String[] {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}) if (vocab.containsKey(s)) added.put(s, vocab.get(s));
        return new WordPieceTokenizer(vocab, new BertNormalizer(true, true, lowercase, lowercase), "[UNK]", "##", 100,
                "[CLS]", "[SEP]", "[PAD]", added);
    }

    public static WordPieceTokenizer fromTokenizerJson(InputStream in, String name) throws IOException {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(in);
        } catch (IOException e) {
            throw new TokenizerFormatException(name + ": not valid JSON: " + e.getMessage().lines().findFirst().orElse(""), e);
        }
        JsonNode model = root.path("model");
        if (!"WordPiece".equals(model.path("type").asText())) {
            throw new TokenizerFormatException(name + ": model type '" + model.path("type").asText() + "' is not supported (need WordPiece)");
        }
        Map<String, Integer> vocab = new HashMap<>();
        model.path("vocab").fields().forEachRemaining(e -> vocab.put(e.getKey(), e.getValue().asInt()));
        if (vocab.isEmpty()) throw new TokenizerFormatException(name + ": empty vocabulary");
        JsonNode norm = root.path("normalizer");
        BertNormalizer normalizer;
        if (norm.isMissingNode() || norm.isNull()) {
            normalizer = new BertNormalizer(false, false, false, false);
        } else if ("BertNormalizer".equals(norm.path("type").asText())) {
            boolean lower = norm.path("lowercase").asBoolean(true);
            JsonNode strip = norm.path("strip_accents");
            normalizer = new BertNormalizer(norm.path("clean_text").asBoolean(true), norm.path("handle_chinese_chars").asBoolean(true),
                    strip.isNull() || strip.isMissingNode() ? lower : strip.asBoolean(), lower);
        } else {
            throw new TokenizerFormatException(name + ": normalizer '" + norm.path("type").asText() + "' is not supported (need BertNormalizer)");
        }
        JsonNode pre = root.path("pre_tokenizer");
        if (!pre.isNull() && !pre.isMissingNode() && !"BertPreTokenizer".equals(pre.path("type").asText())) {
            throw new TokenizerFormatException(name + ": pre-tokenizer '" + pre.path("type").asText() + "' is not supported (need BertPreTokenizer)");
        }
        Map<String, Integer> added = new HashMap<>();
        for (JsonNode t : root.path("added_tokens")) added.put(t.path("content").asText(), t.path("id").asInt());
        String cls = "[CLS]", sep = "[SEP]";
        JsonNode post = root.path("post_processor");
        if ("BertProcessing".equals(post.path("type").asText())) {
            cls = post.path("cls").get(0).asText();
            sep = post.path("sep").get(0).asText();
        } else if ("TemplateProcessing".equals(post.path("type").asText())) {
            JsonNode single = post.path("single");
            if (single.size() >= 3) {
                cls = single.get(0).path("SpecialToken").path("id").asText(cls);
                sep = single.get(single.size() - 1).path("SpecialToken").path("id").asText(sep);
            }
        }
        String pad = root.path("padding").path("pad_token").asText("[PAD]");
        return new WordPieceTokenizer(vocab, normalizer, model.path("unk_token").asText("[UNK]"),
                model.path("continuing_subword_prefix").asText("##"), model.path("max_input_chars_per_word").asInt(100), cls, sep, pad, added);
    }

    public int vocabSize() {
        return idToToken.length;
    }

    public int padId() {
        return padId;
    }

    public int clsId() {
        return clsId;
    }

    public int sepId() {
        return sepId;
    }

    public int unkId() {
        return unkId;
    }

    /** The id of a token, or -1. */
    public int tokenId(String token) {
        Integer id = addedIds.get(token);
        if (id == null) id = vocab.get(token);
        return id == null ? -1 : id;
    }

    public String token(int id) {
        return id >= 0 && id < idToToken.length ? idToToken[id] : null;
    }

    /** Pieces of one text without special tokens: ids, and [start, end) per piece. */
    private record Pieces(List<Integer> ids, List<Integer> starts, List<Integer> ends) {
        Pieces() {
            this(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
        }

        int size() {
            return ids.size();
        }

        void add(int id, int s, int e) {
            ids.add(id);
            starts.add(s);
            ends.add(e);
        }

        void truncate(int n) {
            ids.subList(n, ids.size()).clear();
            starts.subList(n, starts.size()).clear();
            ends.subList(n, ends.size()).clear();
        }
    }

    private Pieces tokenize(String text) {
        Pieces out = new Pieces();
        int pos = 0;
        while (pos < text.length()) {
            // the earliest added token in the rest of the text (longest first at one position)
            int best = -1;
            String bestTok = null;
            for (String t : addedTokens) {
                int at = text.indexOf(t, pos);
                if (at >= 0 && (best < 0 || at < best)) {
                    best = at;
                    bestTok = t;
                }
            }
            int end = best < 0 ? text.length() : best;
            if (end > pos) tokenizeSegment(text, pos, end, out);
            if (best < 0) break;
            out.add(addedIds.get(bestTok), best, best + bestTok.length());
            pos = best + bestTok.length();
        }
        return out;
    }

    private void tokenizeSegment(String text, int from, int to, Pieces out) {
        BertNormalizer.Normalized n = normalizer.normalize(text, from, to);
        int i = 0;
        while (i < n.length()) {
            int c = n.codePoints()[i];
            if (Chars.isWhitespace(c)) {
                i++;
                continue;
            }
            if (Chars.isPunctuation(c)) {
                wordPiece(n, i, i + 1, out);
                i++;
                continue;
            }
            int j = i;
            while (j < n.length() && !Chars.isWhitespace(n.codePoints()[j]) && !Chars.isPunctuation(n.codePoints()[j])) j++;
            wordPiece(n, i, j, out);
            i = j;
        }
    }

    /** Greedy longest-match-first WordPiece over normalized characters [from, to). */
    private void wordPiece(BertNormalizer.Normalized n, int from, int to, Pieces out) {
        int wordStart = n.starts()[from], wordEnd = n.ends()[to - 1];
        if (to - from > maxInputCharsPerWord) {
            out.add(unkId, wordStart, wordEnd);
            return;
        }
        int[] cps = n.codePoints();
        List<int[]> pieces = new ArrayList<>();
        int start = from;
        while (start < to) {
            int end = to, found = -1;
            while (start < end) {
                StringBuilder sb = new StringBuilder();
                if (start > from) sb.append(prefix);
                for (int k = start; k < end; k++) sb.appendCodePoint(cps[k]);
                Integer id = vocab.get(sb.toString());
                if (id != null) {
                    found = id;
                    break;
                }
                end--;
            }
            if (found < 0) {
                out.add(unkId, wordStart, wordEnd);
                return;
            }
            pieces.add(new int[] {found, n.starts()[start], n.ends()[end - 1]});
            start = end;
        }
        for (int[] p : pieces) out.add(p[0], p[1], p[2]);
    }

    public Encoding encode(String text) {
        return encode(text, null, 0, Truncation.NONE);
    }

    /**
     * Encodes one text or a pair as [CLS] a [SEP] (b [SEP]). With maxLength > 0 the result is cut
     * to at most maxLength tokens by the truncation strategy (specials included).
     */
    public Encoding encode(String a, String b, int maxLength, Truncation truncation) {
        Pieces pa = tokenize(a), pb = b == null ? null : tokenize(b);
        if (maxLength > 0 && truncation != Truncation.NONE) {
            int specials = b == null ? 2 : 3;
            int budget = maxLength - specials;
            if (budget < 0) throw new IllegalArgumentException("encode: maxLength " + maxLength + " leaves no room for the " + specials + " special tokens");
            if (pb == null) {
                if (pa.size() > budget) pa.truncate(budget);
            } else if (truncation == Truncation.ONLY_SECOND) {
                int room = budget - pa.size();
                if (room < 0) throw new IllegalArgumentException("encode: the first text alone (" + pa.size() + " tokens) exceeds maxLength " + maxLength);
                if (pb.size() > room) pb.truncate(room);
            } else {
                int la = pa.size(), lb = pb.size();
                while (la + lb > budget) {
                    if (la > lb) la--;
                    else lb--;
                }
                pa.truncate(la);
                pb.truncate(lb);
            }
        }
        int n = pa.size() + 2 + (pb == null ? 0 : pb.size() + 1);
        int[] ids = new int[n], types = new int[n], mask = new int[n], st = new int[n], en = new int[n], seq = new int[n];
        String[] toks = new String[n];
        int p = 0;
        ids[p] = clsId;
        seq[p++] = -1;
        for (int i = 0; i < pa.size(); i++, p++) {
            ids[p] = pa.ids.get(i);
            st[p] = pa.starts.get(i);
            en[p] = pa.ends.get(i);
        }
        ids[p] = sepId;
        seq[p++] = -1;
        if (pb != null) {
            for (int i = 0; i < pb.size(); i++, p++) {
                ids[p] = pb.ids.get(i);
                st[p] = pb.starts.get(i);
                en[p] = pb.ends.get(i);
                types[p] = 1;
                seq[p] = 1;
            }
            ids[p] = sepId;
            types[p] = 1;
            seq[p++] = -1;
        }
        Arrays.fill(mask, 1);
        for (int i = 0; i < n; i++) toks[i] = token(ids[i]);
        return new Encoding(ids, types, mask, st, en, seq, toks);
    }

    /** Pads encodings to the same length (the longest, or padTo if larger): [PAD] ids, mask 0, offsets (0, 0). */
    public List<Encoding> pad(List<Encoding> batch, int padTo) {
        int len = padTo;
        for (Encoding e : batch) len = Math.max(len, e.length());
        List<Encoding> out = new ArrayList<>(batch.size());
        for (Encoding e : batch) {
            int n = e.length();
            if (n == len) {
                out.add(e);
                continue;
            }
            int[] ids = Arrays.copyOf(e.ids(), len);
            Arrays.fill(ids, n, len, padId);
            int[] seq = Arrays.copyOf(e.sequenceIds(), len);
            Arrays.fill(seq, n, len, -1);
            String[] toks = Arrays.copyOf(e.tokens(), len);
            Arrays.fill(toks, n, len, token(padId));
            out.add(new Encoding(ids, Arrays.copyOf(e.typeIds(), len), Arrays.copyOf(e.attentionMask(), len),
                    Arrays.copyOf(e.offsetStarts(), len), Arrays.copyOf(e.offsetEnds(), len), seq, toks));
        }
        return out;
    }
}
