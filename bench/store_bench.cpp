// perch-store-bench: the content database alone, on either back end. Loads rooms and messages
// through the server's own group-commit writer (sustained durable posts/s and the latency of
// each post's commit), then times the reads the server makes: join history, MAM pages and
// full-text search. Prints a summary and, with --json, writes the figures.
//
//   perch-store-bench --backend sqlite --path /tmp/bench.db --rooms 10000 --messages 1000000
//   perch-store-bench --backend postgres --url "host=127.0.0.1 port=5432 dbname=bench" ...
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "bodies.hpp"
#include "store/store.hpp"
#include "store/workers.hpp"
#include "util/ids.hpp"

using namespace perch::store;
using perch::bench::Bodies;
using perch::bench::kEverywhereSearches;
using perch::bench::kRoomSearches;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
    StoreConfig store;
    int rooms = 10000;
    int64_t messages = 1000000;
    int window = 20000;  // posts in flight at most
    int queries = 2000;
    int search_queries = 200;
    bool reads_only = false;  // time the reads on a database loaded before
    bool random_ids = false;  // stanza ids as before time-ordered ones, for comparison
    std::string json;
};

double ms_since(Clock::time_point t) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

struct Summary {
    double p50 = 0, p99 = 0, max = 0, mean = 0;
};

Summary summarize(std::vector<double> v) {
    Summary s;
    if (v.empty()) return s;
    std::sort(v.begin(), v.end());
    auto at = [&](double q) { return v[std::min(v.size() - 1, size_t(q * double(v.size())))]; };
    s.p50 = at(0.50);
    s.p99 = at(0.99);
    s.max = v.back();
    double sum = 0;
    for (double x : v) sum += x;
    s.mean = sum / double(v.size());
    return s;
}

// Times the reads the server makes, each on a random room, and appends them to the summary.
int time_reads(const Options& o, Store& store, bool after_load) {
    // Reads, each on a random room, as the server makes them.
    std::vector<int64_t> room_ids;
    for (const auto& r : store.list_rooms()) room_ids.push_back(r.id);
    if (room_ids.empty()) {
        std::cerr << "the database holds no rooms\n";
        return 1;
    }
    std::uniform_int_distribution<size_t> pick(0, room_ids.size() - 1);
    std::vector<double> history, newest, older, search_room, search_all;
    std::mt19937 rng(7);
    for (int i = 0; i < o.queries; ++i) {
        int64_t room = room_ids[pick(rng)];
        auto t = Clock::now();
        store.recent_messages(room, 30, 0);
        history.push_back(ms_since(t));

        ArchiveQuery q;
        q.room_id = room;
        q.max = 50;
        q.last_page = true;
        t = Clock::now();
        auto page = store.query_archive(q);
        newest.push_back(ms_since(t));

        if (!page.messages.empty()) {
            q.last_page = false;
            q.before_id = page.messages[page.messages.size() / 2].stanza_id;
            t = Clock::now();
            store.query_archive(q);
            older.push_back(ms_since(t));
        }

        ArchiveQuery s;
        s.room_id = room;
        s.max = 50;
        s.last_page = true;
        s.text = kRoomSearches[size_t(i) % std::size(kRoomSearches)];
        t = Clock::now();
        store.query_archive(s);
        search_room.push_back(ms_since(t));
    }
    for (int i = 0; i < o.search_queries; ++i) {
        ArchiveQuery s;
        s.room_ids = room_ids;  // a user who may read every room
        s.max = 50;
        s.last_page = true;
        s.text = kEverywhereSearches[size_t(i) % std::size(kEverywhereSearches)];
        auto t = Clock::now();
        store.query_archive(s);
        search_all.push_back(ms_since(t));
    }
    std::ofstream json(o.json.empty() ? "/dev/null" : o.json,
                       after_load ? std::ios::app : std::ios::trunc);
    if (!after_load)
        json << "{\"backend\":\"" << o.store.backend << "\",\"rooms\":" << room_ids.size();
    auto report = [&](const char* name, const std::vector<double>& v) {
        auto s = summarize(v);
        std::printf("%-28s %6zu queries  p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms\n", name,
                    v.size(), s.p50, s.p99, s.max);
        json << ",\"" << name << "\":{\"n\":" << v.size() << ",\"p50_ms\":" << s.p50
             << ",\"p99_ms\":" << s.p99 << ",\"max_ms\":" << s.max << "}";
    };
    report("history_30", history);
    report("mam_newest_page_50", newest);
    report("mam_older_page_50", older);
    report("search_one_room", search_room);
    report("search_all_rooms", search_all);
    json << "}\n";
    return 0;
}

int usage() {
    std::cerr << "usage: perch-store-bench (--backend sqlite --path FILE | --backend postgres "
                 "--url CONNINFO) [--rooms N] [--messages N] [--queries N] "
                 "[--search-queries N] [--window N] [--reads-only] [--random-ids] [--cache-mb N] "
                 "[--mmap-mb N] [--json FILE]\n";
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
            return argv[++i];
        };
        try {
            if (a == "--backend")
                o.store.backend = value();
            else if (a == "--path")
                o.store.path = value();
            else if (a == "--url")
                o.store.url = value();
            else if (a == "--rooms")
                o.rooms = std::stoi(value());
            else if (a == "--messages")
                o.messages = std::stoll(value());
            else if (a == "--queries")
                o.queries = std::stoi(value());
            else if (a == "--search-queries")
                o.search_queries = std::stoi(value());
            else if (a == "--window")
                o.window = std::stoi(value());
            else if (a == "--json")
                o.json = value();
            else if (a == "--reads-only")
                o.reads_only = true;
            else if (a == "--random-ids")
                o.random_ids = true;
            else if (a == "--cache-mb")
                o.store.cache_mb = std::stoi(value());
            else if (a == "--mmap-mb")
                o.store.mmap_mb = std::stoi(value());
            else
                return usage();
        } catch (const std::exception& e) {
            std::cerr << e.what() << "\n";
            return usage();
        }
    }
    if (o.rooms < 1 || o.messages < 1 || o.window < 1) return usage();

    auto store = open_store(o.store);
    std::cerr << "store: " << describe(o.store) << "\n";
    if (o.reads_only) return time_reads(o, *store, false);
    if (!store->list_rooms().empty()) {
        std::cerr << "the database already holds rooms: give an empty one, or --reads-only\n";
        return 1;
    }
    Category category;
    category.name = "bench";
    int64_t category_id = store->add_category(category);
    // Everybody may find and join its rooms, as with `perch category add`.
    store->set_category_principal(category_id, CategoryList::allowed, Principal::all(), true);
    std::vector<Room> rooms(size_t(o.rooms));
    for (int i = 0; i < o.rooms; ++i) {
        rooms[size_t(i)].node = "room" + std::to_string(i + 1);
        rooms[size_t(i)].category_id = category_id;
    }
    store->add_rooms(rooms);
    std::vector<int64_t> room_ids;
    for (const auto& r : store->list_rooms()) room_ids.push_back(r.id);

    // Load: as many posts in flight as the window allows, committed by the server's writer.
    Bodies bodies(42);
    std::vector<double> commit_ms(size_t(o.messages));
    std::mutex mutex;
    std::condition_variable cv;
    int64_t in_flight = 0, done = 0, failed = 0;
    auto started = Clock::now();
    {
        MessageWriter writer(o.store);
        std::uniform_int_distribution<size_t> pick(0, room_ids.size() - 1);
        int64_t ts = 1'700'000'000'000'000;
        for (int64_t i = 0; i < o.messages; ++i) {
            {
                std::unique_lock lock(mutex);
                cv.wait(lock, [&] { return in_flight < o.window; });
                ++in_flight;
            }
            NewMessage m;
            m.room_id = room_ids[pick(bodies.rng())];
            // The server's stanza ids (time-ordered), or fully random ones as before.
            m.stanza_id = o.random_ids ? perch::util::random_id() : perch::util::ordered_id();
            m.sender = "user" + std::to_string(i % 997) + "@bench";
            m.nick = "user" + std::to_string(i % 997);
            m.body = bodies.next();
            m.ts_us = ts + i * 1000;
            auto sent = Clock::now();
            bool queued = writer.submit(
                std::move(m), [&, i, sent](std::optional<Message> stored, std::string) {
                    commit_ms[size_t(i)] = ms_since(sent);
                    std::lock_guard lock(mutex);
                    if (!stored) ++failed;
                    --in_flight;
                    if (++done % 100000 == 0)
                        std::cerr << "  " << done << " messages, "
                                  << int64_t(double(done) / (ms_since(started) / 1000)) << "/s\n";
                    cv.notify_all();
                });
            if (!queued) {
                std::cerr << "writer queue full\n";
                return 1;
            }
        }
        writer.stop();
        auto stats = writer.stats();
        double seconds = ms_since(started) / 1000;
        auto c = summarize(commit_ms);
        std::printf(
            "load: %lld messages into %d rooms in %.1f s: %.0f posts/s, %llu commits "
            "(%.0f per commit), post-to-commit p50 %.1f ms p99 %.1f ms max %.1f ms, "
            "%lld failed\n",
            (long long)o.messages, o.rooms, seconds, double(o.messages) / seconds,
            (unsigned long long)stats.commits,
            double(stats.messages) / double(std::max<uint64_t>(1, stats.commits)), c.p50, c.p99,
            c.max, (long long)failed);
        std::ofstream(o.json.empty() ? "/dev/null" : o.json)
            << "{\"backend\":\"" << o.store.backend << "\",\"rooms\":" << o.rooms
            << ",\"messages\":" << o.messages << ",\"load_seconds\":" << seconds
            << ",\"posts_per_s\":" << double(o.messages) / seconds
            << ",\"commits\":" << stats.commits << ",\"commit_p50_ms\":" << c.p50
            << ",\"commit_p99_ms\":" << c.p99 << ",\"failed\":" << failed;
    }

    if (int rc = time_reads(o, *store, true); rc) return rc;
    return failed ? 1 : 0;
}
