// ref_hnswlib.cpp — the reference of the search benchmark: hnswlib
// (Debian's libhnswlib-dev, header-only) on the very vectors and ground
// truth that bench_search_data cached (formats in search_data.h).
//
//   ref_hnswlib --data PREFIX [--M 16] [--efc 200] [--threads 2]
//               [--efs 16,32,64,128,256] [--k 10] [--min-seconds 0.5]
//
// PREFIX is the cache path without its extension (PREFIX.base, .query,
// .gt). Prints the build time on --threads threads, the memory of the graph
// per point (links and levels, vectors aside, counted from hnswlib's own
// sizes), and for each ef the recall@k and queries/s on one thread (all
// queries, repeated until --min-seconds have passed). Metric: L2.
#include <hnswlib/hnswlib.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

double now()
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// A cache file: 8-byte magic, two u32, then the body (search_data.h).
bool read_cache(const std::string &path, const char *magic, uint32_t &a, uint32_t &b, std::vector<char> &body)
{
    FILE *f = std::fopen(path.c_str(), "rb");
    if (!f) {
        std::fprintf(stderr, "ref_hnswlib: cannot open %s (run bench_search_data first)\n", path.c_str());
        return false;
    }
    char m[8];
    uint32_t h[2];
    bool ok = std::fread(m, 1, 8, f) == 8 && std::memcmp(m, magic, 8) == 0 && std::fread(h, sizeof h, 1, f) == 1;
    if (ok) {
        std::fseek(f, 0, SEEK_END);
        long size = std::ftell(f);
        std::fseek(f, 16, SEEK_SET);
        body.resize(size > 16 ? (size_t)size - 16 : 0);
        ok = body.empty() || std::fread(body.data(), 1, body.size(), f) == body.size();
        a = h[0], b = h[1];
    }
    std::fclose(f);
    if (!ok)
        std::fprintf(stderr, "ref_hnswlib: %s: bad file\n", path.c_str());
    return ok;
}

}  // namespace

int main(int argc, char **argv)
{
    std::string prefix;
    size_t M = 16, efc = 200, k = 10;
    int threads = 2;
    double min_seconds = 0.5;
    std::vector<size_t> efs = {16, 32, 64, 128, 256};
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string a = argv[i], v = argv[i + 1];
        if (a == "--data")
            prefix = v;
        else if (a == "--M")
            M = std::stoul(v);
        else if (a == "--efc")
            efc = std::stoul(v);
        else if (a == "--threads")
            threads = std::stoi(v);
        else if (a == "--k")
            k = std::stoul(v);
        else if (a == "--min-seconds")
            min_seconds = std::stod(v);
        else if (a == "--efs") {
            efs.clear();
            for (size_t p = 0; p < v.size();) {
                size_t e = v.find(',', p);
                efs.push_back(std::stoul(v.substr(p, e - p)));
                p = e == std::string::npos ? v.size() : e + 1;
            }
        } else {
            std::fprintf(stderr, "ref_hnswlib: unknown option %s\n", a.c_str());
            return 2;
        }
    }
    if (prefix.empty() || threads < 1 || k == 0) {
        std::fprintf(stderr, "usage: ref_hnswlib --data PREFIX [--M 16] [--efc 200] [--threads 2] "
                             "[--efs 16,32,...] [--k 10] [--min-seconds 0.5]\n");
        return 2;
    }
    uint32_t n, dim, nq, qdim, gq, gk;
    std::vector<char> base, query, gt;
    if (!read_cache(prefix + ".base", "QVSDVEC1", n, dim, base) ||
        !read_cache(prefix + ".query", "QVSDVEC1", nq, qdim, query) ||
        !read_cache(prefix + ".gt", "QVSDGT01", gq, gk, gt))
        return 1;
    if (base.size() != (size_t)n * dim * 4 || query.size() != (size_t)nq * qdim * 4 || qdim != dim || gq != nq ||
        gk < k || gt.size() != (size_t)gq * gk * 8) {
        std::fprintf(stderr, "ref_hnswlib: %s: files do not match each other\n", prefix.c_str());
        return 1;
    }
    const float *bv = reinterpret_cast<const float *>(base.data());
    const float *qv = reinterpret_cast<const float *>(query.data());
    const uint32_t *truth = reinterpret_cast<const uint32_t *>(gt.data());

    hnswlib::L2Space space(dim);
    hnswlib::HierarchicalNSW<float> index(&space, n, M, efc, 100);
    double t0 = now();
    std::atomic<uint32_t> next{0};
    auto add = [&]() {
        for (uint32_t i; (i = next.fetch_add(1)) < n;)
            index.addPoint(bv + (size_t)i * dim, i);
    };
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; t++)
        pool.emplace_back(add);
    for (auto &t : pool)
        t.join();
    double build = now() - t0;

    // Graph memory per point: the level-0 list (2M links and a count), an
    // upper list (M links and a count) per level above 0, the pointer to
    // them and the level. Vectors and labels aside (they share hnswlib's
    // level-0 block). hnswlib also keeps a mutex per point (link_list_locks_)
    // and a label map, not counted here.
    size_t upper = 0, levels_above = 0;
    for (uint32_t i = 0; i < n; i++) {
        upper += (size_t)index.element_levels_[i] * index.size_links_per_element_;
        levels_above += (size_t)index.element_levels_[i];
    }
    double per_point = (double)(index.size_links_level0_ * (size_t)n + upper + (sizeof(char *) + sizeof(int)) * (size_t)n) / n;
    std::printf("hnswlib: n %u dim %u M %zu ef_construction %zu: build %.2f s on %d threads (%.0f points/s)\n", n, dim,
                M, efc, build, threads, n / build);
    std::printf("hnswlib: graph memory %.1f B/point (level 0 %zu B, upper %.1f B, pointer+level %zu B; "
                "%.3f levels above 0 per point; max level %d)\n",
                per_point, index.size_links_level0_, (double)upper / n, sizeof(char *) + sizeof(int),
                (double)levels_above / n, index.maxlevel_);

    std::vector<uint32_t> got(k);
    for (size_t ef : efs) {
        index.setEf(ef);
        size_t hits = 0;
        index.metric_distance_computations = 0;
        index.metric_hops = 0;
        for (uint32_t q = 0; q < nq; q++) {
            auto res = index.searchKnn(qv + (size_t)q * dim, k);
            size_t m = 0;
            while (!res.empty()) {
                got[m++] = (uint32_t)res.top().second;
                res.pop();
            }
            for (size_t i = 0; i < m; i++)
                for (size_t r = 0; r < k; r++)
                    if (got[i] == truth[(size_t)q * gk + r]) {
                        hits++;
                        break;
                    }
        }
        double dc = (double)index.metric_distance_computations / nq;
        size_t rounds = 0;
        double t1 = now(), el;
        volatile size_t sink = 0;
        do {
            for (uint32_t q = 0; q < nq; q++)
                sink += index.searchKnn(qv + (size_t)q * dim, k).size();
            rounds++;
            el = now() - t1;
        } while (el < min_seconds);
        std::printf("hnswlib: ef %4zu: recall@%zu %.4f, %8.0f queries/s (1 thread), %.0f links scanned/query\n", ef, k,
                    (double)hits / ((double)nq * k), (double)(rounds * nq) / el, dc);
    }
    return 0;
}
