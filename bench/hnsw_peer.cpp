// hnsw_peer.cpp: our driver of hnswlib (Debian's libhnswlib-dev headers),
// compiled by bench/hnsw.sh with -O3 -march=native, measured exactly as
// bench/hnsw_bench.c measures our library:
//   hnsw_peer DATA QUERIES TRUTH D M EFC EFS...
// Output: "key value" lines with the same keys as `hnsw_bench run`
// (HNSW_BENCH_REPS timed passes per measurement, default 2, best kept).
#include <hnswlib/hnswlib.h>

#include <omp.h>
#include <zstd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

/* CPU time of the calling thread: queries per CPU second do not depend on
 * how many other processes share the machine (wall-clock QPS does). */
static double cputime()
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CPU seconds of the whole process (all threads) */
static double proctime()
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* the 1-minute load average, as text */
static std::string loadavg()
{
    std::ifstream f("/proc/loadavg");
    std::string v;
    if (!(f >> v))
        v = "?";
    return v;
}

static double now()
{
    return std::chrono::duration<double>(
               std::chrono::steady_clock::now().time_since_epoch()).count();
}

static std::vector<float> load(const char *path, size_t d, size_t *rows)
{
    std::ifstream f(path, std::ios::binary);
    std::vector<char> b((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    *rows = b.size() / (d * sizeof(float));
    std::vector<float> x(*rows * d);
    std::memcpy(x.data(), b.data(), x.size() * sizeof(float));
    return x;
}

int main(int argc, char **argv)
{
    if (argc < 8) {
        std::fprintf(stderr, "usage: hnsw_peer DATA QUERIES TRUTH D M EFC EFS...\n");
        return 2;
    }
    const size_t K = 10, d = std::atol(argv[4]), M = std::atol(argv[5]),
                 efc = std::atol(argv[6]);
    size_t n, nq;
    std::vector<float> x = load(argv[1], d, &n), q = load(argv[2], d, &nq);
    std::vector<uint32_t> t(nq * K);
    {
        std::ifstream f(argv[3], std::ios::binary);
        f.read(reinterpret_cast<char *>(t.data()), t.size() * sizeof(uint32_t));
    }
    hnswlib::L2Space space(d);
    hnswlib::HierarchicalNSW<float> *h = nullptr;
    for (int th = 1; th <= 2; th++) {
        delete h;
        h = new hnswlib::HierarchicalNSW<float>(&space, n, M, efc, 100);
        std::string l0 = loadavg();
        double t0 = now(), p0 = proctime();
        h->addPoint(x.data(), 0);
#pragma omp parallel for num_threads(th) schedule(dynamic, 64)
        for (size_t i = 1; i < n; i++)
            h->addPoint(x.data() + i * d, i);
        double bt = now() - t0, bc = proctime() - p0;
        std::printf("build_s_t%d %.3f\nbuild_vps_t%d %.0f\nbuild_cpu_s_t%d %.3f\n"
                    "build_load_t%d %s/%s\n", th, bt, th, n / bt, th, bc, th, l0.c_str(),
                    loadavg().c_str());
    }
    // graph bytes only (hnswlib keeps vectors and labels inline; not counted)
    size_t graph = n * h->size_links_level0_;
    for (size_t i = 0; i < n; i++)
        graph += h->element_levels_[i] * h->size_links_per_element_;
    std::printf("mem_bpv %.2f\n", (double)graph / n);
    // level 0 holds, per element, its links, the vector and the label inline
    std::printf("vec_bpv %zu\nlabel_bpv %zu\n", d * sizeof(float), sizeof(hnswlib::labeltype));
    std::string path = std::string(argv[1]) + ".hnswlib";
    h->saveIndex(path);
    {
        std::ifstream f(path, std::ios::binary);
        std::vector<char> b((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        std::vector<char> z(ZSTD_compressBound(b.size()));
        size_t c = ZSTD_compress(z.data(), z.size(), b.data(), b.size(), 3);
        // the saved file holds vectors too: subtract them to compare graphs
        double vec = (double)n * (d * sizeof(float));
        std::printf("file_bpv %.2f\nfile_zstd_bpv %.2f\ngraph_file_bpv %.2f\n",
                    b.size() / (double)n, c / (double)n, (b.size() - vec) / n);
    }
    std::remove(path.c_str());
    const char *re = std::getenv("HNSW_BENCH_REPS");
    const int reps = std::max(1, re ? std::atoi(re) : 2);
    std::vector<double> lat(nq);
    std::vector<size_t> got(nq * K);
    for (int a = 7; a < argc; a++) {
        size_t ef = std::atol(argv[a]);
        h->setEf(ef);
        double cpu1 = 0; /* CPU seconds of the last 1-thread run (this thread) */
        auto runq = [&](int threads, bool timing) {
            double t0 = now(), c0 = threads == 1 ? cputime() : 0;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 16)
            for (size_t i = 0; i < nq; i++) {
                double s = timing ? now() : 0;
                auto r = h->searchKnn(q.data() + i * d, K);
                size_t m = r.size(), j = m;
                while (!r.empty()) {
                    got[i * K + --j] = r.top().second;
                    r.pop();
                }
                for (size_t z = m; z < K; z++)
                    got[i * K + z] = (size_t)-1;
                if (timing)
                    lat[i] = now() - s;
            }
            if (threads == 1)
                cpu1 = cputime() - c0;
            return nq / (now() - t0);
        };
        runq(1, false);
        double q1 = 0, c1 = 0;
        for (int rep = 0; rep < reps; rep++) {
            q1 = std::max(q1, runq(1, true));
            c1 = std::max(c1, nq / cpu1);
        }
        size_t found = 0;
        for (size_t i = 0; i < nq; i++)
            for (size_t a2 = 0; a2 < K; a2++)
                for (size_t b = 0; b < K; b++)
                    if (got[i * K + a2] == t[i * K + b]) {
                        found++;
                        break;
                    }
        double q2 = 0;
        for (int rep = 0; rep < reps; rep++)
            q2 = std::max(q2, runq(2, false));
        std::sort(lat.begin(), lat.end());
        std::printf("ef%zu_recall %.4f\nef%zu_qps1 %.0f\nef%zu_qps2 %.0f\n"
                    "ef%zu_p50_us %.1f\nef%zu_p99_us %.1f\nef%zu_cpuqps1 %.0f\n",
                    ef, (double)found / (nq * K), ef, q1, ef, q2, ef,
                    lat[nq / 2] * 1e6, ef, lat[(size_t)(nq * 0.99)] * 1e6, ef, c1);
    }
    delete h;
    return 0;
}
