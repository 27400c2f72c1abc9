/* TextLucene.java: the Lucene peer of bench/text.sh (Lucene's jars come
 * from Maven Central; bench/text.sh fetches and compiles this file).
 *
 *   java -cp JARS:CLASSDIR TextLucene DATASET_DIR RUN_OUT english|plain
 *        STOPWORDS REPEAT INDEX_DIR
 *
 * Indexes title + " " + text of corpus.jsonl (BEIR layout) into INDEX_DIR
 * (one thread, forceMerge(1) to one segment as vecstore's one index,
 * positions kept as vecstore keeps them, doc ids stored), then runs the
 * queries of queries.jsonl (those judged in qrels/test.tsv when it exists)
 * REPEAT + 1 times as top-10 disjunctions of their terms (BM25Similarity
 * k1 1.2, b 0.75; Lucene's top-k search, which skips with block-max WAND):
 * once untimed to warm the JIT up and write the run, then timed. The
 * analyzer: StandardTokenizer, lowercase, and for "english" the stop words
 * of the file STOPWORDS (one a line) and the Snowball English stemmer.
 * Times are CPU time of the whole JVM (OperatingSystemMXBean
 * .getProcessCpuTime: JIT and GC included; the searching thread's own CPU
 * time is given too, as query_thread_s); the query time covers analysis
 * and search, not fetching the ids of the hits (read after the timed part).
 * The run goes to RUN_OUT; one JSON object to stdout.
 */
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.CharArraySet;
import org.apache.lucene.analysis.LowerCaseFilter;
import org.apache.lucene.analysis.StopFilter;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.Tokenizer;
import org.apache.lucene.analysis.snowball.SnowballFilter;
import org.apache.lucene.analysis.standard.StandardTokenizer;
import org.apache.lucene.analysis.tokenattributes.CharTermAttribute;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.FieldType;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexOptions;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.Term;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.search.similarities.BM25Similarity;
import org.apache.lucene.store.FSDirectory;
import org.tartarus.snowball.ext.EnglishStemmer;

public final class TextLucene {
    static final int DEPTH = 10;

    /* The string members of one flat JSON object (other values skipped). */
    static Map<String, String> parse(String s, String where) {
        Map<String, String> m = new HashMap<>();
        int[] at = {skip(s, 0)};
        expect(s, at, '{', where);
        at[0] = skip(s, at[0]);
        if (at[0] < s.length() && s.charAt(at[0]) == '}')
            return m;
        for (;;) {
            at[0] = skip(s, at[0]);
            String k = str(s, at, where);
            at[0] = skip(s, at[0]);
            expect(s, at, ':', where);
            at[0] = skip(s, at[0]);
            if (at[0] < s.length() && s.charAt(at[0]) == '"')
                m.put(k, str(s, at, where));
            else
                value(s, at, where);
            at[0] = skip(s, at[0]);
            if (at[0] < s.length() && s.charAt(at[0]) == ',') {
                at[0]++;
                continue;
            }
            expect(s, at, '}', where);
            return m;
        }
    }

    static int skip(String s, int i) {
        while (i < s.length() && Character.isWhitespace(s.charAt(i)))
            i++;
        return i;
    }

    static void expect(String s, int[] at, char c, String where) {
        if (at[0] >= s.length() || s.charAt(at[0]) != c)
            throw new IllegalArgumentException(where + ": expected '" + c + "'");
        at[0]++;
    }

    static String str(String s, int[] at, String where) {
        expect(s, at, '"', where);
        StringBuilder b = new StringBuilder();
        for (int i = at[0]; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"') {
                at[0] = i + 1;
                return b.toString();
            }
            if (c != '\\') {
                b.append(c);
                continue;
            }
            if (++i >= s.length())
                break;
            char e = s.charAt(i);
            switch (e) {
            case 'n': b.append('\n'); break;
            case 't': b.append('\t'); break;
            case 'r': b.append('\r'); break;
            case 'b': b.append('\b'); break;
            case 'f': b.append('\f'); break;
            case 'u':
                if (i + 4 >= s.length())
                    throw new IllegalArgumentException(where + ": bad \\u escape");
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 5), 16));
                i += 4;
                break;
            default: b.append(e);
            }
        }
        throw new IllegalArgumentException(where + ": unterminated string");
    }

    /* Skip any JSON value that is not a string. */
    static void value(String s, int[] at, String where) {
        int depth = 0;
        for (int i = at[0]; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"') {
                at[0] = i;
                str(s, at, where);
                i = at[0] - 1;
            } else if (c == '{' || c == '[') {
                depth++;
            } else if (c == '}' || c == ']') {
                if (depth == 0) {
                    at[0] = i;
                    return;
                }
                depth--;
            } else if (c == ',' && depth == 0) {
                at[0] = i;
                return;
            }
        }
        throw new IllegalArgumentException(where + ": unterminated value");
    }

    static List<Map<String, String>> jsonl(Path p) throws IOException {
        List<Map<String, String>> v = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(p, StandardCharsets.UTF_8)) {
            String line;
            long n = 0;
            while ((line = r.readLine()) != null) {
                n++;
                if (!line.isBlank())
                    v.add(parse(line, p + ":" + n));
            }
        }
        return v;
    }

    static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory
                .getOperatingSystemMXBean()).getProcessCpuTime();
    }

    static long du(Path p) throws IOException {
        try (Stream<Path> s = Files.walk(p)) {
            return s.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 6 || !(args[2].equals("english") || args[2].equals("plain"))) {
            System.err.println("usage: TextLucene DATASET_DIR RUN_OUT english|plain STOPWORDS REPEAT INDEX_DIR");
            System.exit(2);
        }
        Path dir = Paths.get(args[0]);
        boolean english = args[2].equals("english");
        List<String> stopList = new ArrayList<>();
        for (String w : Files.readAllLines(Paths.get(args[3]), StandardCharsets.UTF_8))
            if (!w.isBlank())
                stopList.add(w.trim());
        CharArraySet stop = new CharArraySet(stopList, false);
        int repeat = Integer.parseInt(args[4]);
        Path ixdir = Paths.get(args[5]);

        Analyzer an = new Analyzer() {
            @Override
            protected TokenStreamComponents createComponents(String field) {
                Tokenizer src = new StandardTokenizer();
                TokenStream t = new LowerCaseFilter(src);
                if (english) {
                    t = new StopFilter(t, stop);
                    t = new SnowballFilter(t, new EnglishStemmer());
                }
                return new TokenStreamComponents(src, t);
            }
        };

        List<Map<String, String>> docs = jsonl(dir.resolve("corpus.jsonl"));
        Set<String> judged = null;
        Path qrels = dir.resolve("qrels").resolve("test.tsv");
        if (Files.exists(qrels)) {
            judged = new HashSet<>();
            List<String> lines = Files.readAllLines(qrels, StandardCharsets.UTF_8);
            for (int i = 1; i < lines.size(); i++)
                if (!lines.get(i).isBlank())
                    judged.add(lines.get(i).split("\\s+")[0]);
        }
        List<String[]> queries = new ArrayList<>();
        for (Map<String, String> q : jsonl(dir.resolve("queries.jsonl")))
            if (judged == null || judged.contains(q.get("_id")))
                queries.add(new String[] {q.get("_id"), q.getOrDefault("text", "")});

        BM25Similarity sim = new BM25Similarity(1.2f, 0.75f);
        long t0 = cpuNanos();
        FieldType body = new FieldType();
        body.setIndexOptions(IndexOptions.DOCS_AND_FREQS_AND_POSITIONS); // as vecstore's
        body.setTokenized(true);
        body.freeze();
        try (FSDirectory fsd = FSDirectory.open(ixdir)) {
            IndexWriterConfig cfg = new IndexWriterConfig(an);
            cfg.setSimilarity(sim);
            cfg.setRAMBufferSizeMB(512);
            cfg.setOpenMode(IndexWriterConfig.OpenMode.CREATE);
            try (IndexWriter w = new IndexWriter(fsd, cfg)) {
                for (Map<String, String> d : docs) {
                    Document doc = new Document();
                    doc.add(new StoredField("id", d.get("_id")));
                    doc.add(new Field("body", d.getOrDefault("title", "") + " " + d.getOrDefault("text", ""), body));
                    w.addDocument(doc);
                }
                w.forceMerge(1);
                w.commit();
            }
            double indexS = (cpuNanos() - t0) / 1e9;
            long bytes = du(ixdir);
            try (DirectoryReader rd = DirectoryReader.open(fsd)) {
                IndexSearcher s = new IndexSearcher(rd);
                s.setSimilarity(sim);
                long tq = 0, tth = 0;
                java.lang.management.ThreadMXBean tmx = ManagementFactory.getThreadMXBean();
                long n = 0;
                TopDocs[] first = new TopDocs[queries.size()];
                // pass 0 warms the JIT up and writes the run; passes 1 ..
                // REPEAT are timed
                for (int r = 0; r <= repeat; r++) {
                    long t1 = cpuNanos(), th1 = tmx.getCurrentThreadCpuTime();
                    for (int i = 0; i < queries.size(); i++) {
                        BooleanQuery.Builder b = new BooleanQuery.Builder();
                        int nt = 0;
                        try (TokenStream ts = an.tokenStream("body", queries.get(i)[1])) {
                            CharTermAttribute term = ts.addAttribute(CharTermAttribute.class);
                            ts.reset();
                            while (ts.incrementToken()) {
                                b.add(new TermQuery(new Term("body", term.toString())), BooleanClause.Occur.SHOULD);
                                nt++;
                            }
                            ts.end();
                        }
                        TopDocs td = nt > 0 ? s.search(b.build(), DEPTH) : null;
                        if (r == 0)
                            first[i] = td;
                    }
                    if (r > 0) {
                        tq += cpuNanos() - t1;
                        tth += tmx.getCurrentThreadCpuTime() - th1;
                        n += queries.size();
                    }
                }
                try (BufferedWriter out = Files.newBufferedWriter(Paths.get(args[1]), StandardCharsets.UTF_8)) {
                    for (int i = 0; i < queries.size(); i++) {
                        if (first[i] == null)
                            continue;
                        int rank = 1;
                        for (ScoreDoc sd : first[i].scoreDocs)
                            out.write(queries.get(i)[0] + " Q0 " + s.storedFields().document(sd.doc).get("id")
                                      + " " + rank++ + " " + String.format(Locale.ROOT, "%.6f", sd.score) + " lucene\n");
                    }
                }
                double queryS = tq / 1e9;
                System.out.printf(Locale.ROOT, "{\"engine\":\"lucene\",\"version\":\"%s\",\"docs\":%d,\"analyzer\":\"%s\","
                                  + "\"index_s\":%.3f,\"index_bytes\":%d,\"segments\":%d,\"queries\":%d,"
                                  + "\"query_s\":%.4f,\"qps\":%.1f,\"query_thread_s\":%.4f}%n",
                                  org.apache.lucene.util.Version.LATEST, docs.size(), args[2], indexS, bytes,
                                  rd.leaves().size(), n, queryS, queryS > 0 ? n / queryS : 0.0, tth / 1e9);
            }
        }
    }
}
