package org.realmjava.trainer.eval;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.en.EnglishAnalyzer;
import org.apache.lucene.analysis.tokenattributes.CharTermAttribute;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.document.TextField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.Term;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.similarities.BM25Similarity;
import org.apache.lucene.store.ByteBuffersDirectory;
import org.realmjava.trainer.corpus.Block;

/**
 * The lexical baseline: Apache Lucene's BM25 (k1 1.2, b 0.75) over the same blocks the dense
 * retriever searches, title and text in one field, English analysis (lowercase, stop words, Porter
 * stemming); a question is the disjunction of its analysed terms. In memory: built in a second or
 * two for tens of thousands of blocks.
 */
public final class Bm25Retriever implements AutoCloseable {
    private static final String TEXT = "text", ROW = "row";

    static {
        // Lucene announces its vector-API use at INFO through java.util.logging: not news for a CLI user
        java.util.logging.Logger.getLogger("org.apache.lucene").setLevel(java.util.logging.Level.WARNING);
    }

    private final Analyzer analyzer = new EnglishAnalyzer();
    private final ByteBuffersDirectory directory = new ByteBuffersDirectory();
    private final DirectoryReader reader;
    private final IndexSearcher searcher;

    public Bm25Retriever(List<Block> blocks) {
        try {
            IndexWriterConfig cfg = new IndexWriterConfig(analyzer).setSimilarity(new BM25Similarity());
            try (IndexWriter w = new IndexWriter(directory, cfg)) {
                for (int i = 0; i < blocks.size(); i++) {
                    Document d = new Document();
                    d.add(new TextField(TEXT, blocks.get(i).title() + "\n" + blocks.get(i).text(), Field.Store.NO));
                    d.add(new StoredField(ROW, i));
                    w.addDocument(d);
                }
            }
            reader = DirectoryReader.open(directory);
            searcher = new IndexSearcher(reader);
            searcher.setSimilarity(new BM25Similarity());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The top k blocks (their indices, best first) for a question; fewer when fewer blocks share a term with it. */
    public int[] search(String question, int k) {
        try {
            BooleanQuery.Builder q = new BooleanQuery.Builder();
            int terms = 0;
            try (TokenStream ts = analyzer.tokenStream(TEXT, question)) {
                CharTermAttribute term = ts.addAttribute(CharTermAttribute.class);
                ts.reset();
                while (ts.incrementToken()) {
                    if (terms++ < IndexSearcher.getMaxClauseCount()) q.add(new TermQuery(new Term(TEXT, term.toString())), BooleanClause.Occur.SHOULD);
                }
                ts.end();
            }
            if (terms == 0) return new int[0];
            ScoreDoc[] hits = searcher.search(q.build(), k).scoreDocs;
            List<Integer> out = new ArrayList<>(hits.length);
            var stored = searcher.storedFields();
            for (ScoreDoc h : hits) out.add(stored.document(h.doc).getField(ROW).numericValue().intValue());
            return out.stream().mapToInt(Integer::intValue).toArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        try {
            reader.close();
            directory.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
