// perch-bench: an XMPP load generator for Perch and its peers (ejabberd, Prosody).
//
//   perch-bench connect --users 10000 --rooms 100 --rooms-per-user 2 --idle 10 --server-pid PID
//   perch-bench fanout  --users 1000 --senders 10 --rate 20 --duration 20
//   perch-bench fanout  --users 1 --first-user 1001 --senders 0 --duration 20   (a listener)
//   perch-bench post    --users 2000 --rooms 2000 --rate 20000 --duration 20
//   perch-bench lync-model --factor 0.24 --duration 60
//   perch-bench history --users 20 --rooms 100 --fill 100 --queries 1000
//
// Plain TCP on loopback, from many source addresses (127.0.0.1 … 127.0.0.N) so that no single
// address runs out of ephemeral ports. Bounded in count and time; prints a summary and, with
// --json, writes the figures as JSON.
#include <sys/resource.h>
#include <CLI/CLI.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <sstream>

#include "bench_client.hpp"
#include "bodies.hpp"
#include "xml/serializer.hpp"

using namespace perch::bench;
namespace xml = perch::xml;

namespace {

struct Options {
    std::string scenario;
    std::string host = "127.0.0.1";
    int port = 5222;
    int sources = 50;  // 127.0.0.1 .. 127.0.0.50
    std::string domain = "localhost";
    std::string muc_domain;
    std::string user_prefix = "bench";
    std::string password = "bench";
    int first_user = 1;
    int users = 1000;
    std::string room_prefix = "benchroom";
    int rooms = 1;
    int rooms_per_user = 1;
    int concurrency = 500;    // logins in flight
    bool pace_joins = false;  // ... counting a session until it has joined its rooms
    double idle = 5;
    int senders = 10;
    double rate = 10;  // messages per second, all senders together
    double duration = 10;
    double drain = 10;
    int server_pid = 0;
    double timeout = 300;
    std::string json;
    double factor = 0.24;  // lync-model
    int fill = 0;          // history: messages to post into each room first
    int queries = 1000;    // history: rounds of join, MAM pages and searches
    int search_every = 4;  // history: one search across all rooms every N rounds
    // lync-model over several generator processes (a pool): this process runs the model's
    // users u with u % slices == slice, posts the schedule's posts whose sender is among them
    // and counts the deliveries to them; all processes share one schedule.
    int slice = 0, slices = 1;
    std::string barrier;  // directory: "joined.SLICE" written when joined; posting waits for "go"
    std::vector<std::string> failover;  // host:port of the other servers, for reconnections
    double reconnect_spread = 10;       // a lost session reconnects after 0..this many seconds
    std::string acked;                  // file: the numbers of this process's acknowledged posts
};

struct ProcSample {
    long rss_kb = -1;
    double cpu_s = -1;
};

ProcSample sample(int pid) {
    ProcSample s;
    if (pid <= 0) return s;
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmRSS:", 0) == 0) s.rss_kb = std::stol(line.substr(6));
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string content((std::istreambuf_iterator<char>(stat)), {});
    auto close = content.rfind(')');
    if (close != std::string::npos) {
        std::istringstream rest(content.substr(close + 2));
        std::string field;
        std::vector<std::string> fields;
        while (rest >> field) fields.push_back(field);
        if (fields.size() > 13)
            s.cpu_s =
                (std::stod(fields[11]) + std::stod(fields[12])) / double(sysconf(_SC_CLK_TCK));
    }
    return s;
}

double seconds_since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

double percentile(std::vector<int64_t>& v, double p) {
    if (v.empty()) return 0;
    size_t k =
        size_t(std::min<double>(double(v.size() - 1), std::ceil(p / 100.0 * double(v.size())) - 1));
    std::nth_element(v.begin(), v.begin() + long(k), v.end());
    return double(v[k]) / 1e6;  // ms
}

void raise_fd_limit() {
    rlimit r{};
    if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        setrlimit(RLIMIT_NOFILE, &r);
    }
}

class Run {
  public:
    explicit Run(const Options& o) : o_(o), timer_(io_) {}

    int execute() {
        raise_fd_limit();
        t0_ = Clock::now();
        before_ = sample(o_.server_pid);
        observer_.on_joined = [this](int index) {
            if (measuring_) return back_in_rooms(index);
            if (o_.pace_joins) --in_flight_;
            if (++joined_ == o_.users) {
                joined_s_ = seconds_since(t0_);
                bound_s_ = last_bound_s_ > 0 ? last_bound_s_ : joined_s_;
                std::cerr << "all " << o_.users << " sessions joined after " << joined_s_ << " s\n";
                after_join_ = sample(o_.server_pid);
                phase_two();
            }
            launch_more();
        };
        observer_.on_failed = [this](int index, std::string why) {
            if (measuring_ && !failover_.empty()) return lost_server(index, why);
            if (failures_++ < 5) std::cerr << "client failed: " << why << "\n";
            --in_flight_;
            launch_more();
            check_stuck();
        };
        observer_.on_delivery = [this](int index, int64_t sent, int64_t seq) {
            ++received_;
            if (measuring_) latencies_.push_back(now_ns() - sent);
            auto own = my_posts_.find(seq);
            if (own != my_posts_.end() && own->second.sender == index && own->second.acked == 0)
                own->second.acked = now_ns();
        };
        observer_.on_refused = [this](int, int64_t seq) {
            auto own = my_posts_.find(seq);
            if (own != my_posts_.end() && own->second.refused == 0) own->second.refused = now_ns();
        };
        observer_.on_bound = [this] {
            if (measuring_) return bound_again_ns_.push_back(now_ns());  // a reconnection
            ++bound_;
            if (!o_.pace_joins) --in_flight_;
            if (bound_ == o_.users) last_bound_s_ = seconds_since(t0_);
            launch_more();
        };
        clients_.reserve(size_t(o_.users));
        down_.assign(size_t(o_.users), 0);
        attempts_.assign(size_t(o_.users), 0);
        for (const auto& hp : o_.failover) {
            auto colon = hp.rfind(':');
            failover_.emplace_back(asio::ip::make_address(hp.substr(0, colon)),
                                   uint16_t(std::stoi(hp.substr(colon + 1))));
        }
        server_ = asio::ip::tcp::endpoint(asio::ip::make_address(o_.host), uint16_t(o_.port));
        launch_more();
        deadline_ = std::make_unique<asio::steady_timer>(
            io_,
            std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o_.timeout)));
        deadline_->async_wait([this](boost::system::error_code ec) {
            if (ec) return;
            std::cerr << "timeout after " << o_.timeout << " s\n";
            std::map<std::string, int> states;
            for (auto& c : clients_) {
                ++states[c->state_name()];
                if (!c->ready() && std::string(c->state_name()) != "failed") {
                    std::string ep = c->local_endpoint();
                    std::cerr << "  stuck: " << ep << " in " << c->state_name() << "\n";
                    // Both ends of the stuck connection, with their queues, for diagnosis.
                    auto port = ep.substr(ep.rfind(':') + 1);
                    std::string cmd =
                        "ss -tnie '( sport = :" + port + " or dport = :" + port + " )' >&2";
                    if (std::system(cmd.c_str()) != 0) std::cerr << "  (ss failed)\n";
                }
            }
            for (auto& [name, n] : states) std::cerr << "  " << n << " clients " << name << "\n";
            timed_out_ = true;
            finish();
        });
        io_.run();
        return report();
    }

  private:
    void launch_more() {
        while (launched_ < o_.users && in_flight_ < o_.concurrency) {
            int i = launched_++;
            Account a;
            a.index = i;
            a.user = o_.user_prefix + std::to_string(o_.first_user + model_user(i));
            a.password = o_.password;
            a.domain = o_.domain;
            a.muc_domain = o_.muc_domain;
            if (!model_rooms_.empty()) {
                for (int room : model_rooms_[size_t(i)]) {
                    a.rooms.push_back(o_.room_prefix + std::to_string(room));
                    ++occupants_[a.rooms.back()];
                }
            }
            for (int k = 0; k < o_.rooms_per_user && o_.rooms > 0 && model_rooms_.empty(); ++k) {
                a.rooms.push_back(o_.room_prefix +
                                  std::to_string(1 + (i * o_.rooms_per_user + k) % o_.rooms));
                ++occupants_[a.rooms.back()];
            }
            first_room_.push_back(a.rooms.empty() ? std::string() : a.rooms.front());
            auto c = std::make_shared<Client>(io_, std::move(a), observer_);
            if (o_.scenario == "history")
                c->on_stanza([this, i](const xml::Element& e) { history_stanza(size_t(i), e); });
            c->start(source_for(i), server_);
            clients_.push_back(c);
            ++in_flight_;
        }
    }

    void check_stuck() {
        if (failures_ + joined_ >= o_.users && joined_ < o_.users) {
            std::cerr << failures_ << " clients failed\n";
            finish();
        }
    }

    void phase_two() {
        if (o_.scenario == "connect") {
            wait(o_.idle, [this] {
                after_idle_ = sample(o_.server_pid);
                finish();
            });
        } else if (o_.scenario == "history") {
            start_history();
        } else if (!o_.barrier.empty()) {
            await_go();
        } else {
            start_sending();
        }
    }

    // fanout, post, lync-model: senders post at the given total rate for `duration` seconds.
    void start_sending() {
        measuring_ = true;
        send_start_ = Clock::now();
        send_tick();
    }

    // Several generator processes: say this one has joined, post once all have ("go").
    void await_go() {
        if (!barrier_written_) {
            std::ofstream(o_.barrier + "/joined." + std::to_string(o_.slice)) << joined_s_ << "\n";
            barrier_written_ = true;
        }
        if (std::filesystem::exists(o_.barrier + "/go")) return start_sending();
        wait(0.05, [this] { await_go(); });
    }

    // The account number (from 0) of this process's i-th session.
    int model_user(int i) const { return o_.slice + i * o_.slices; }
    std::optional<size_t> local_session(int user) const {
        if (user % o_.slices != o_.slice) return std::nullopt;
        return size_t(user / o_.slices);
    }

    // A session whose server went away (failover runs): reconnects, after a pause drawn from
    // 0..reconnect_spread s as real clients spread theirs, to one of the other servers in turn.
    void lost_server(int index, const std::string& why) {
        if (down_[size_t(index)]) {
            // Its reconnection failed too: counted by why (the text up to a colon after the
            // account, e.g. "join refused"), to be retried like the first.
            std::string kind =
                why.substr(why.find(": ") == std::string::npos ? 0 : why.find(": ") + 2);
            kind = kind.substr(0, kind.find(':'));
            ++retried_[kind.substr(0, 60)];
            if (retried_told_++ < 3) std::cerr << "a reconnection failed again: " << why << "\n";
        } else {
            down_[size_t(index)] = 1;
            ++down_now_;
            ++lost_total_;
            if (lost_first_ns_ == 0) {
                lost_first_ns_ = now_ns();
                std::cerr << "sessions are losing their server (" << why << "); reconnecting\n";
            }
        }
        std::uniform_real_distribution<double> pause(0, o_.reconnect_spread);
        auto timer = std::make_shared<asio::steady_timer>(
            io_, std::chrono::duration_cast<Clock::duration>(
                     std::chrono::duration<double>(pause(reconnect_rng_))));
        timer->async_wait([this, timer, index](boost::system::error_code ec) {
            if (ec || finished_) return;
            auto& old = clients_[size_t(index)];
            Account a = old->account();
            const auto& target =
                failover_[size_t(index + attempts_[size_t(index)]++) % failover_.size()];
            old = std::make_shared<Client>(io_, std::move(a), observer_);
            old->start(source_for(index), target);
        });
    }

    void back_in_rooms(int index) {
        if (!down_[size_t(index)]) return;
        down_[size_t(index)] = 0;
        back_at_ns_.push_back(now_ns());
        if (--down_now_ == 0) {
            back_ns_ = now_ns();
            std::cerr << "all " << lost_total_ << " sessions that lost their server are back in "
                      << "their rooms\n";
        }
    }

    asio::ip::address source_for(int i) const {
        return asio::ip::make_address_v4(
            "127.0.0." + std::to_string(1 + i % std::max(1, std::min(o_.sources, 254))));
    }

    // Members of a model room connected here now.
    int64_t ready_members(size_t room) const {
        int64_t n = 0;
        for (int u : model_members_[room])
            if (auto k = local_session(u); k && clients_[*k]->ready()) ++n;
        return n;
    }

    void send_tick() {
        double elapsed = seconds_since(send_start_);
        // A fixed number of posts, so that generator processes sharing a schedule agree on it.
        bool listener = o_.scenario == "fanout" && o_.senders == 0;
        int64_t total = int64_t(std::ceil(o_.duration * o_.rate));
        if (listener ? elapsed >= o_.duration : sent_ >= total) {
            send_s_ = elapsed;
            after_send_ = sample(o_.server_pid);
            drain_start_ = Clock::now();
            return drain_tick();
        }
        // Catch up to where the schedule says we should be. A listener (fanout with no
        // senders) only times what another generator process posts.
        auto due = listener ? 0 : std::min(total, int64_t(elapsed * o_.rate) + 1);
        while (sent_ < due) {
            if (o_.scenario == "lync-model") {
                // A random room; its first member posts (if it is one of this process's
                // sessions); every member receives it.
                std::uniform_int_distribution<size_t> pick(0, model_members_.size() - 1);
                size_t room = pick(rng_);
                std::string name = o_.room_prefix + std::to_string(room + 1);
                if (auto k = local_session(model_members_[room].front())) {
                    if (clients_[*k]->ready()) {
                        my_posts_[sent_] = Post{int(*k), now_ns()};
                        clients_[*k]->send_groupchat(name, sent_);
                    } else {
                        ++skipped_;  // its sender is reconnecting
                    }
                }
                expected_ += failover_.empty() ? occupants_[name] : ready_members(room);
            } else if (o_.scenario == "post") {
                // Every session posts into its own first room, in turn.
                size_t k = size_t(sent_ % o_.users);
                clients_[k]->send_groupchat(first_room_[k], sent_);
                expected_ += occupants_[first_room_[k]];
            } else {
                auto& c = clients_[size_t(sent_ % std::min(o_.senders, o_.users))];
                c->send_groupchat(o_.room_prefix + "1", sent_);
                expected_ += o_.users;
            }
            ++sent_;
        }
        timer_.expires_after(std::chrono::milliseconds(std::max(1, int(1000.0 / o_.rate / 2))));
        timer_.async_wait([this](boost::system::error_code ec) {
            if (!ec) send_tick();
        });
    }

    void drain_tick() {
        bool listener = o_.scenario == "fanout" && o_.senders == 0;
        if ((!listener && received_ >= expected_) || seconds_since(drain_start_) > o_.drain)
            return finish();
        wait(0.05, [this] { drain_tick(); });
    }

    void wait(double seconds, std::function<void()> then) {
        timer_.expires_after(
            std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds)));
        timer_.async_wait([then = std::move(then)](boost::system::error_code ec) {
            if (!ec) then();
        });
    }

    void finish() {
        if (finished_) return;
        finished_ = true;
        total_s_ = seconds_since(t0_);
        timer_.cancel();
        if (deadline_) deadline_->cancel();
        for (auto& c : clients_) c->close();
        io_.stop();
    }

    int report() {
        std::ostringstream j;
        auto kb = [](long v) { return v < 0 ? std::string("null") : std::to_string(v); };
        double login_rate = bound_s_ > 0 ? double(bound_) / bound_s_ : 0;
        j << "{\"scenario\":\"" << o_.scenario << "\",\"users\":" << o_.users
          << ",\"rooms\":" << o_.rooms << ",\"rooms_per_user\":" << o_.rooms_per_user
          << ",\"bound\":" << bound_ << ",\"joined\":" << joined_ << ",\"failed\":" << failures_
          << ",\"all_bound_s\":" << bound_s_ << ",\"all_joined_s\":" << joined_s_
          << ",\"login_rate_per_s\":" << login_rate
          << ",\"timed_out\":" << (timed_out_ ? "true" : "false");
        std::cout << "scenario " << o_.scenario << ": " << joined_ << "/" << o_.users
                  << " sessions joined "
                  << (model_rooms_.empty() ? std::to_string(o_.rooms_per_user) + " room(s) each"
                                           : "their rooms of the model")
                  << ", " << failures_ << " failed\n";
        std::cout << "  logins: " << bound_ << " in " << bound_s_ << " s = " << login_rate
                  << "/s (concurrency " << o_.concurrency << ")\n";
        std::cout << "  all joined after " << joined_s_ << " s\n";
        if (o_.server_pid > 0 && before_.rss_kb >= 0) {
            long joined_rss = after_join_.rss_kb;
            double per_session =
                joined_ > 0 ? double(joined_rss - before_.rss_kb) * 1024.0 / joined_ : 0;
            j << ",\"server_rss_before_kb\":" << kb(before_.rss_kb)
              << ",\"server_rss_joined_kb\":" << kb(joined_rss)
              << ",\"server_bytes_per_session\":" << per_session;
            std::cout << "  server RSS " << before_.rss_kb / 1024 << " MB before, "
                      << joined_rss / 1024 << " MB when all had joined: " << per_session / 1024
                      << " KB per session (includes the join burst)\n";
            if (before_.cpu_s >= 0 && after_join_.cpu_s >= 0) {
                // The server's own CPU for the logins and joins: less noisy than wall time
                // when the load generator shares the cores.
                double cpu_ms = (after_join_.cpu_s - before_.cpu_s) * 1000;
                j << ",\"server_cpu_s_joining\":" << cpu_ms / 1000;
                std::cout << "  server CPU for the logins and joins: " << cpu_ms / 1000
                          << " s = " << (joined_ > 0 ? cpu_ms * 1000 / joined_ : 0)
                          << " us per session\n";
            }
            if (o_.scenario == "connect" && after_idle_.cpu_s >= 0) {
                double idle_cpu = (after_idle_.cpu_s - after_join_.cpu_s) / o_.idle * 100;
                double idle_per_session =
                    joined_ > 0 ? double(after_idle_.rss_kb - before_.rss_kb) * 1024.0 / joined_
                                : 0;
                j << ",\"idle_s\":" << o_.idle << ",\"server_idle_cpu_percent\":" << idle_cpu
                  << ",\"server_rss_after_idle_kb\":" << kb(after_idle_.rss_kb)
                  << ",\"server_idle_bytes_per_session\":" << idle_per_session;
                std::cout << "  idle " << o_.idle << " s: server CPU " << idle_cpu << " %, RSS "
                          << after_idle_.rss_kb / 1024 << " MB: " << idle_per_session / 1024
                          << " KB per idle session\n";
            }
        }
        if (o_.scenario == "history") report_history(j);
        if (o_.scenario != "connect" && o_.scenario != "history") {
            std::vector<int64_t> lat = latencies_;
            double p50 = percentile(lat, 50), p99 = percentile(lat, 99), max = percentile(lat, 100);
            double rate =
                send_s_ > 0 ? double(received_) / (send_s_ + seconds_since(drain_start_) * 0) : 0;
            int64_t lost = o_.senders == 0 && o_.scenario == "fanout" ? 0 : expected_ - received_;
            j << ",\"senders\":" << o_.senders << ",\"rate_msgs_per_s\":" << o_.rate
              << ",\"duration_s\":" << send_s_ << ",\"messages\":" << sent_
              << ",\"expected_deliveries\":" << expected_ << ",\"deliveries\":" << received_
              << ",\"lost\":" << lost << ",\"deliveries_per_s\":" << rate
              << ",\"latency_ms\":{\"p50\":" << p50 << ",\"p99\":" << p99 << ",\"max\":" << max
              << "}";
            if (after_send_.cpu_s >= 0 && after_join_.cpu_s >= 0)
                j << ",\"server_cpu_percent\":"
                  << (after_send_.cpu_s - after_join_.cpu_s) / send_s_ * 100;
            if (o_.scenario == "lync-model")
                std::cout << "  " << sent_ << " posts at " << o_.rate << "/s for " << send_s_
                          << " s, each into a random room of the model (" << o_.rooms
                          << " rooms)\n";
            else if (o_.scenario == "post")
                std::cout << "  " << sent_ << " posts by " << o_.users << " sessions at " << o_.rate
                          << "/s for " << send_s_ << " s into " << o_.rooms
                          << " rooms; each post acknowledged by its echo after the commit\n";
            else if (o_.senders == 0)
                std::cout << "  listened for " << send_s_ << " s (another process posts); "
                          << "deliveries counted as they came, none expected\n";
            else
                std::cout << "  " << sent_ << " messages by " << o_.senders << " senders at "
                          << o_.rate << "/s for " << send_s_ << " s into a room of " << o_.users
                          << "\n";
            std::cout << "  deliveries " << received_ << "/" << expected_ << " (" << lost
                      << " lost), " << rate << "/s; latency p50 " << p50 << " ms, p99 " << p99
                      << " ms, max " << max << " ms\n";
            if (after_send_.cpu_s >= 0)
                std::cout << "  server CPU while sending: "
                          << (after_send_.cpu_s - after_join_.cpu_s) / send_s_ * 100 << " %\n";
        }
        if (o_.scenario == "lync-model" && (o_.slices > 1 || !failover_.empty())) report_posts(j);
        j << "}";
        if (!o_.json.empty()) std::ofstream(o_.json) << j.str() << "\n";
        bool ok = !timed_out_ && failures_ == 0 && joined_ == o_.users && down_now_ == 0 &&
                  (o_.scenario == "connect" || received_ == expected_ || !failover_.empty() ||
                   (o_.scenario == "fanout" && o_.senders == 0 && received_ > 0)) &&
                  join_errors_ == 0 && (o_.scenario != "history" || rounds_started_ >= o_.queries);
        return ok ? 0 : 1;
    }

    // This process's own posts: acknowledged (the sender's echo, after the commit), refused
    // (an error came back), unanswered; around a server's kill (the time in BARRIER/killed,
    // steady clock), when the rooms were served again and the sessions back.
    void report_posts(std::ostringstream& j) {
        int64_t acked = 0, refused = 0, unanswered = 0;
        std::vector<int64_t> ack_ns;
        int64_t kill_ns = 0;
        if (!o_.barrier.empty()) std::ifstream(o_.barrier + "/killed") >> kill_ns;
        int64_t last_bad = std::numeric_limits<int64_t>::min();
        std::ofstream acked_out;
        if (!o_.acked.empty()) acked_out.open(o_.acked);
        for (const auto& [seq, p] : my_posts_) {
            bool bad = p.acked == 0 || p.acked - p.sent > 1'000'000'000;
            if (p.acked != 0) {
                ++acked;
                ack_ns.push_back(p.acked - p.sent);
                if (acked_out) acked_out << seq << "\n";
            } else if (p.refused != 0) {
                ++refused;
            } else {
                ++unanswered;
            }
            if (bad) last_bad = std::max(last_bad, p.sent);
        }
        double p50 = percentile(ack_ns, 50), p99 = percentile(ack_ns, 99);
        j << ",\"own_posts\":" << my_posts_.size() << ",\"acked\":" << acked
          << ",\"refused\":" << refused << ",\"unanswered\":" << unanswered
          << ",\"skipped\":" << skipped_ << ",\"ack_ms\":{\"p50\":" << p50 << ",\"p99\":" << p99
          << "}";
        std::cout << "  own posts " << my_posts_.size() << ": " << acked << " acknowledged (p50 "
                  << p50 << " ms, p99 " << p99 << " ms), " << refused << " refused, " << unanswered
                  << " unanswered, " << skipped_ << " skipped (sender reconnecting)\n";
        if (kill_ns == 0) return;
        auto after_kill = [&](int64_t t) { return double(t - kill_ns) / 1e9; };
        if (last_bad != std::numeric_limits<int64_t>::min()) {
            j << ",\"last_slow_post_after_kill_s\":" << after_kill(last_bad);
            std::cout << "  the last post refused, unanswered or acknowledged after more than 1 s "
                      << "was sent " << after_kill(last_bad) << " s after the kill\n";
        }
        if (lost_total_ > 0) {
            j << ",\"sessions_lost\":" << lost_total_
              << ",\"first_lost_after_kill_s\":" << after_kill(lost_first_ns_);
            std::cout << "  " << lost_total_ << " sessions lost their server "
                      << after_kill(lost_first_ns_) << " s after the kill; ";
            if (back_ns_ != 0) {
                j << ",\"all_back_after_kill_s\":" << after_kill(back_ns_);
                std::cout << "all back in their rooms " << after_kill(back_ns_) << " s after it\n";
            } else {
                std::cout << down_now_ << " still away at the end\n";
            }
            // When the sessions had logged in again and were back in their rooms, to tell a
            // slow whole from a few late ones, and the logins from the joins.
            auto when = [&](const char* what, std::vector<int64_t>& at) {
                if (at.empty()) return;
                std::cout << "  " << what << " after the kill:";
                for (double p : {10, 50, 90, 99})
                    std::cout << " p" << p << " " << after_kill(int64_t(percentile(at, p) * 1e6))
                              << " s";
                std::cout << "\n";
            };
            when("logged in again", bound_again_ns_);
            when("back in their rooms", back_at_ns_);
            int64_t again = 0;
            for (const auto& [kind, n] : retried_) {
                again += n;
                std::cout << "  reconnections that failed again: " << n << " (" << kind << ")\n";
            }
            j << ",\"reconnections_failed_again\":" << again;
        }
    }

    // history: every session first posts `fill` messages into each of its share of the rooms
    // (one at a time, each acknowledged by its echo), then the sessions run rounds until
    // `queries` rounds are done: join a random room asking for 30 messages of history (timed
    // to the subject, which ends the history), the newest MAM page of 50, the page before it,
    // a word search in the room, and leave; every `search_every`-th round also searches all
    // rooms through the chat service. An answer that is an error, or a search whose results do
    // not hold the words, counts as "not supported".
    enum class Step {
        fill_join,
        fill_post,
        fill_leave,
        join,
        newest,
        older,
        search_room,
        search_all,
        leave,
        done
    };
    struct Timing {
        std::vector<int64_t> ns;
        int64_t items = 0;
        int64_t unsupported = 0;
        std::string why;  // the first refusal
    };
    struct HistorySession {
        Step step = Step::done;
        Clock::time_point t;
        std::string room;  // bare JID of the current room
        std::vector<std::string> fill_rooms;
        int posted = 0;
        int64_t items = 0;
        std::string first_id;  // of the newest MAM page
        std::string words;     // of the current search
        bool mismatch = false;
        int64_t round = 0;
        std::unique_ptr<Bodies> bodies;
    };

    std::string room_jid(int k) const {
        return o_.room_prefix + std::to_string(k) + "@" + o_.muc_domain;
    }

    void start_history() {
        history_.resize(clients_.size());
        for (int k = 1; k <= o_.rooms && o_.fill > 0; ++k)
            history_[size_t(k - 1) % history_.size()].fill_rooms.push_back(room_jid(k));
        fill_total_ = int64_t(o_.fill) * o_.rooms;
        history_start_ = Clock::now();
        if (fill_total_ > 0)
            std::cerr << "filling " << o_.rooms << " rooms with " << o_.fill << " messages each\n";
        for (size_t i = 0; i < history_.size(); ++i) {
            history_[i].bodies = std::make_unique<Bodies>(uint32_t(1000 + i));
            next_history_step(i);
        }
    }

    // Where the session goes next once its current step is over.
    void next_history_step(size_t i) {
        auto& h = history_[i];
        if (!h.fill_rooms.empty()) {
            h.room = h.fill_rooms.back();
            h.fill_rooms.pop_back();
            h.posted = 0;
            return join_room(i, Step::fill_join, 0);
        }
        if (fill_total_ > 0 && filled_ < fill_total_) {
            h.step = Step::done;  // wait for the other sessions' fill
            return;
        }
        if (rounds_started_ >= o_.queries) {
            h.step = Step::done;
            if (++sessions_done_ == int64_t(history_.size())) finish();
            return;
        }
        h.round = rounds_started_++;
        std::uniform_int_distribution<int> pick(1, std::max(1, o_.rooms));
        h.room = room_jid(pick(rng_));
        h.items = 0;
        h.t = Clock::now();
        join_room(i, Step::join, 30);
    }

    void join_room(size_t i, Step step, int history) {
        auto& h = history_[i];
        h.step = step;
        clients_[i]->send("<presence to='" + h.room + "/" + clients_[i]->account().user +
                          "'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='" +
                          std::to_string(history) + "'/></x></presence>");
    }

    void leave_room(size_t i, Step step) {
        auto& h = history_[i];
        h.step = step;
        clients_[i]->send("<presence type='unavailable' to='" + h.room + "/" +
                          clients_[i]->account().user + "'/>");
    }

    void send_mam(size_t i, const std::string& to, const std::string& before,
                  const std::string& words) {
        auto& h = history_[i];
        h.items = 0;
        h.words = words;
        h.mismatch = false;
        std::string id = "h" + std::to_string(i);
        std::string form;
        if (!words.empty()) {
            form =
                "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'>"
                "<value>urn:xmpp:mam:2</value></field><field var='{urn:xmpp:fulltext:0}fulltext'>"
                "<value>";
            xml::escape_text(form, words);
            form += "</value></field></x>";
        }
        h.t = Clock::now();
        clients_[i]->send("<iq type='set' id='" + id + "' to='" + to +
                          "'><query xmlns='urn:xmpp:mam:2' queryid='" + id + "'>" + form +
                          "<set xmlns='http://jabber.org/protocol/rsm'><max>50</max>" +
                          (before.empty() ? "<before/>" : "<before>" + before + "</before>") +
                          "</set></query></iq>");
    }

    // Does a found message hold every word of the search (a phrase's words count singly)?
    static bool holds_words(const std::string& body, const std::string& words) {
        std::string lower = body;
        for (auto& ch : lower) ch = char(std::tolower(static_cast<unsigned char>(ch)));
        std::istringstream in(words);
        std::string w;
        while (in >> w) {
            std::erase(w, '"');
            if (!w.empty() && lower.find(w) == std::string::npos) return false;
        }
        return true;
    }

    void record(Timing& t, const HistorySession& h) {
        t.ns.push_back(
            std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - h.t).count());
        t.items += h.items;
    }

    void refuse(Timing& t, const std::string& why) {
        if (t.unsupported++ == 0) t.why = why;
    }

    void history_stanza(size_t i, const xml::Element& e) {
        if (i >= history_.size()) return;
        auto& h = history_[i];
        auto& c = *clients_[i];
        const std::string& nick = c.account().user;
        std::string from = e.attr_or("from");
        std::string from_bare = from.substr(0, from.find('/'));
        bool self_presence = false;
        if (e.name() == "presence")
            if (const xml::Element* x = e.child("x", "http://jabber.org/protocol/muc#user"))
                for (const auto& s : x->children())
                    if (s.name() == "status" && s.attr_or("code") == "110") self_presence = true;
        switch (h.step) {
            case Step::fill_join:
            case Step::join:
                if (e.name() == "presence" && from_bare == h.room && e.attr_or("type") == "error") {
                    std::cerr << "join refused: " << xml::to_string(e) << "\n";
                    ++join_errors_;
                    return finish();
                }
                if (h.step == Step::fill_join && self_presence) {
                    h.step = Step::fill_post;
                    post_fill(i);
                } else if (h.step == Step::join && e.name() == "message" && from_bare == h.room) {
                    if (e.child("delay", "urn:xmpp:delay")) ++h.items;
                    if (e.child("subject", "jabber:client") && !e.child("body", "jabber:client")) {
                        record(join_history_, h);
                        send_mam(i, h.room, "", "");
                        h.step = Step::newest;
                    }
                }
                return;
            case Step::fill_post:
                if (e.name() == "message" && from == h.room + "/" + nick &&
                    e.child("body", "jabber:client")) {
                    if (++filled_ % std::max<int64_t>(1, fill_total_ / 10) == 0)
                        std::cerr << "  " << filled_ << "/" << fill_total_ << " posted, "
                                  << int64_t(double(filled_) / seconds_since(history_start_))
                                  << "/s\n";
                    if (h.posted < o_.fill) return post_fill(i);
                    leave_room(i, Step::fill_leave);
                }
                return;
            case Step::fill_leave:
            case Step::leave:
                if (e.name() == "presence" && self_presence && e.attr_or("type") == "unavailable") {
                    bool fill_over = h.step == Step::fill_leave && h.fill_rooms.empty() &&
                                     filled_ >= fill_total_ && fill_s_ == 0;
                    next_history_step(i);
                    if (fill_over) {
                        fill_s_ = seconds_since(history_start_);
                        std::cerr << "filled in " << fill_s_ << " s\n";
                        for (size_t k = 0; k < history_.size(); ++k)
                            if (k != i && history_[k].step == Step::done) next_history_step(k);
                    }
                }
                return;
            case Step::newest:
            case Step::older:
            case Step::search_room:
            case Step::search_all:
                return mam_stanza(i, e);
            case Step::done:
                return;
        }
    }

    void post_fill(size_t i) {
        auto& h = history_[i];
        ++h.posted;
        clients_[i]->send("<message type='groupchat' to='" + h.room + "'><body>" +
                          h.bodies->next() + "</body></message>");
    }

    void mam_stanza(size_t i, const xml::Element& e) {
        auto& h = history_[i];
        Timing& timing = h.step == Step::newest        ? mam_newest_
                         : h.step == Step::older       ? mam_older_
                         : h.step == Step::search_room ? search_room_
                                                       : search_all_;
        if (e.name() == "message") {
            const xml::Element* result = e.child("result", "urn:xmpp:mam:2");
            if (!result) return;
            ++h.items;
            if (h.words.empty()) return;
            const xml::Element* fwd = result->child("forwarded", "urn:xmpp:forward:0");
            const xml::Element* m = fwd ? fwd->child("message", "jabber:client") : nullptr;
            if (!m || !holds_words(m->child_text("body", "jabber:client"), h.words))
                h.mismatch = true;
            return;
        }
        if (e.name() != "iq" || e.attr_or("id") != "h" + std::to_string(i)) return;
        if (e.attr_or("type") == "result" && !h.mismatch) {
            record(timing, h);
        } else {
            refuse(timing, h.mismatch ? "results without the searched words (search ignored)"
                                      : xml::to_string(e));
        }
        if (h.step == Step::newest) {
            const xml::Element* fin = e.child("fin", "urn:xmpp:mam:2");
            const xml::Element* set =
                fin ? fin->child("set", "http://jabber.org/protocol/rsm") : nullptr;
            h.first_id = set ? set->child_text("first", "http://jabber.org/protocol/rsm") : "";
            if (!h.first_id.empty()) {
                h.step = Step::older;
                return send_mam(i, h.room, h.first_id, "");
            }
            h.step = Step::older;  // an empty room: no older page to ask for
        }
        if (h.step == Step::older) {
            h.step = Step::search_room;
            return send_mam(i, h.room, "",
                            kRoomSearches[size_t(h.round) % std::size(kRoomSearches)]);
        }
        if (h.step == Step::search_room && o_.search_every > 0 && h.round % o_.search_every == 0) {
            h.step = Step::search_all;
            return send_mam(i, o_.muc_domain, "",
                            kEverywhereSearches[size_t(h.round / o_.search_every) %
                                                std::size(kEverywhereSearches)]);
        }
        leave_room(i, Step::leave);
    }

    void report_history(std::ostringstream& j) {
        std::cout << "  " << rounds_started_ << " rounds by " << history_.size()
                  << " sessions over " << o_.rooms << " rooms";
        if (fill_total_ > 0)
            std::cout << ", after posting " << filled_ << " messages in " << fill_s_ << " s ("
                      << double(filled_) / std::max(1e-9, fill_s_) << "/s)";
        std::cout << "\n";
        j << ",\"queries\":" << o_.queries << ",\"fill_per_room\":" << o_.fill
          << ",\"filled\":" << filled_ << ",\"fill_s\":" << fill_s_;
        for (auto [name, t] : {std::pair<const char*, Timing*>{"join_history_30", &join_history_},
                               {"mam_newest_page_50", &mam_newest_},
                               {"mam_older_page_50", &mam_older_},
                               {"search_one_room", &search_room_},
                               {"search_all_rooms", &search_all_}}) {
            std::vector<int64_t> v = t->ns;
            double p50 = percentile(v, 50), p99 = percentile(v, 99), max = percentile(v, 100);
            double per = v.empty() ? 0 : double(t->items) / double(v.size());
            std::printf(
                "  %-20s %6zu answered  p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms  %5.1f "
                "items each",
                name, v.size(), p50, p99, max, per);
            if (t->unsupported) std::printf("  %lld not supported", (long long)t->unsupported);
            std::printf("\n");
            if (!t->why.empty())
                std::cout << "    first refusal: " << t->why.substr(0, 300) << "\n";
            j << ",\"" << name << "\":{\"n\":" << v.size() << ",\"p50_ms\":" << p50
              << ",\"p99_ms\":" << p99 << ",\"max_ms\":" << max << ",\"items_each\":" << per
              << ",\"not_supported\":" << t->unsupported << "}";
        }
        std::cout.flush();
    }

    std::vector<HistorySession> history_;
    Timing join_history_, mam_newest_, mam_older_, search_room_, search_all_;
    int64_t fill_total_ = 0, filled_ = 0, rounds_started_ = 0, sessions_done_ = 0;
    int64_t join_errors_ = 0;
    double fill_s_ = 0;
    Clock::time_point history_start_;

    const Options& o_;
    asio::io_context io_{1};
    asio::steady_timer timer_;
    std::unique_ptr<asio::steady_timer> deadline_;
    asio::ip::tcp::endpoint server_;
    Observer observer_;
    std::vector<std::shared_ptr<Client>> clients_;
    Clock::time_point t0_, send_start_, drain_start_;
    int launched_ = 0, in_flight_ = 0, bound_ = 0, joined_ = 0, failures_ = 0;
    double bound_s_ = 0, last_bound_s_ = 0, joined_s_ = 0, send_s_ = 0, total_s_ = 0;
    int64_t sent_ = 0, received_ = 0, expected_ = 0;
    bool measuring_ = false, finished_ = false, timed_out_ = false;
    std::vector<int64_t> latencies_;

  public:
    // The original's capacity model scaled by `factor`: rooms of 30, 150 and 16,000 in the
    // proportions 32,000 : 1,067 : 10 for 80,000 users, memberships dealt to users in turn
    // (about 16 each). Sets o.users, o.rooms and o.rate (24 posts/s at factor 1).
    static std::vector<std::vector<int>> lync_model(Options& o,
                                                    std::vector<std::vector<int>>& members) {
        int users = int(std::lround(80000 * o.factor));
        std::vector<int> sizes;
        for (auto [count, size] : {std::pair{32000.0, 30}, {1067.0, 150}, {10.0, 16000}})
            for (int k = 0; k < int(count * o.factor); ++k) sizes.push_back(std::min(size, users));
        std::vector<std::vector<int>> rooms_of(static_cast<size_t>(users));
        members.assign(sizes.size(), {});
        int next = 0;
        for (size_t r = 0; r < sizes.size(); ++r)
            for (int k = 0; k < sizes[r]; ++k) {
                int u = next++ % users;
                rooms_of[size_t(u)].push_back(int(r) + 1);
                members[r].push_back(u);
            }
        o.users = users;
        o.rooms = int(sizes.size());
        o.rate = 24 * o.factor;
        return rooms_of;
    }
    void set_model(std::vector<std::vector<int>> rooms_of, std::vector<std::vector<int>> members) {
        model_rooms_ = std::move(rooms_of);
        model_members_ = std::move(members);
    }

  private:
    std::vector<std::vector<int>> model_rooms_, model_members_;
    std::mt19937 rng_{7};
    struct Post {  // one of this process's posts (lync-model)
        int sender = 0;
        int64_t sent = 0, acked = 0, refused = 0;  // steady-clock ns; 0: not (yet)
    };
    std::map<int64_t, Post> my_posts_;
    int64_t skipped_ = 0;  // posts whose sender was reconnecting
    bool barrier_written_ = false;
    std::vector<asio::ip::tcp::endpoint> failover_;
    std::vector<char> down_;  // per session: lost its server, not back in its rooms yet
    std::vector<int> attempts_;
    std::map<std::string, int64_t> retried_;  // reconnections that failed again, by why
    int retried_told_ = 0;                    // the first few told in full
    int64_t down_now_ = 0, lost_total_ = 0, lost_first_ns_ = 0, back_ns_ = 0;
    std::vector<int64_t> back_at_ns_;           // when each lost session was back in its rooms
    std::vector<int64_t> bound_again_ns_;       // when a reconnection bound its resource
    std::mt19937 reconnect_rng_{11};            // apart from rng_: the schedule is shared
    std::map<std::string, int64_t> occupants_;  // sessions in each room
    std::vector<std::string> first_room_;       // each session's first room
    ProcSample before_, after_join_, after_idle_, after_send_;
};

}  // namespace

int main(int argc, char** argv) {
    Options o;
    CLI::App app{"perch-bench: XMPP load generator"};
    app.require_subcommand(1);
    app.fallthrough();
    app.add_option("--host", o.host, "Server address");
    app.add_option("--port", o.port, "Server c2s port");
    app.add_option("--sources", o.sources, "Number of loopback source addresses 127.0.0.1..N");
    app.add_option("--domain", o.domain, "XMPP domain");
    app.add_option("--muc-domain", o.muc_domain, "Chat service (default chat.DOMAIN)");
    app.add_option("--user-prefix", o.user_prefix, "Accounts are PREFIX1, PREFIX2 …");
    app.add_option("--password", o.password, "Password of every account");
    app.add_option("--first-user", o.first_user,
                   "Number of the first account (for several generator processes)");
    app.add_option("--users", o.users, "Sessions to open")->check(CLI::Range(1, 1'000'000));
    app.add_option("--room-prefix", o.room_prefix, "Rooms are PREFIX1, PREFIX2 …");
    app.add_option("--rooms", o.rooms, "Number of rooms");
    app.add_option("--rooms-per-user", o.rooms_per_user, "Rooms each session joins");
    app.add_option("--concurrency", o.concurrency, "Logins in flight at once");
    app.add_flag("--pace-joins", o.pace_joins,
                 "A session counts against --concurrency until it has joined its rooms");
    app.add_option("--server-pid", o.server_pid, "Server process, for memory and CPU figures");
    app.add_option("--timeout", o.timeout, "Give up after this many seconds");
    app.add_option("--json", o.json, "Write the figures to this file");
    auto* connect = app.add_subcommand("connect", "Sessions log in, join rooms, then idle");
    connect->add_option("--idle", o.idle, "Seconds to stay idle after everybody joined");
    auto* fanout = app.add_subcommand("fanout", "Everybody in one room; some post at a fixed rate");
    fanout->add_option("--senders", o.senders,
                       "How many of the occupants post (0: only listen and time deliveries)");
    fanout->add_option("--rate", o.rate, "Messages per second, all senders together");
    fanout->add_option("--duration", o.duration, "Seconds of posting");
    fanout->add_option("--drain", o.drain, "Seconds to wait for the last deliveries");
    auto* post = app.add_subcommand(
        "post", "Every session posts into its own room: durable posts/s, acknowledged by echo");
    post->add_option("--rate", o.rate, "Posts per second, all sessions together");
    post->add_option("--duration", o.duration, "Seconds of posting");
    post->add_option("--drain", o.drain, "Seconds to wait for the last acknowledgements");
    auto* model = app.add_subcommand(
        "lync-model", "The original's capacity model scaled by a factor (users, rooms, posts/s)");
    model->add_option("--factor", o.factor, "Scale: 1.0 is 80,000 users")
        ->check(CLI::Range(0.0001, 1.0));
    model->add_option("--duration", o.duration, "Seconds of posting");
    model->add_option("--drain", o.drain, "Seconds to wait for the last deliveries");
    model->add_option("--slice", o.slice,
                      "This process's share: the users u with u % SLICES == SLICE");
    model->add_option("--slices", o.slices, "Generator processes sharing the model")
        ->check(CLI::Range(1, 64));
    model->add_option("--barrier", o.barrier,
                      "Directory: write joined.SLICE when joined, post once 'go' exists");
    model->add_option("--failover", o.failover,
                      "host:port of other servers: a session whose server goes away reconnects");
    model->add_option("--reconnect-spread", o.reconnect_spread,
                      "Seconds over which lost sessions spread their reconnections");
    model->add_option("--acked", o.acked, "Write the numbers of acknowledged posts to this file");
    auto* history = app.add_subcommand(
        "history", "Join history, MAM pages and full-text search latency (after an optional fill)");
    history->add_option("--fill", o.fill, "Messages to post into each room first (0: none)");
    history->add_option("--queries", o.queries, "Rounds of join + 2 MAM pages + a search");
    history->add_option("--search-every", o.search_every,
                        "One search across all rooms every N rounds (0: never)");
    bool plan = false;
    model->add_flag("--plan", plan, "Print the accounts and rooms to provision, and exit");
    CLI11_PARSE(app, argc, argv);
    o.scenario = connect->parsed()   ? "connect"
                 : post->parsed()    ? "post"
                 : model->parsed()   ? "lync-model"
                 : history->parsed() ? "history"
                                     : "fanout";
    std::vector<std::vector<int>> rooms_of, members;
    if (o.scenario == "lync-model") {
        rooms_of = Run::lync_model(o, members);
        if (o.slice < 0 || o.slice >= o.slices) {
            std::cerr << "--slice must be below --slices\n";
            return 2;
        }
        // This process's sessions: every slices-th user of the model from `slice` on.
        std::vector<std::vector<int>> mine;
        for (size_t u = size_t(o.slice); u < rooms_of.size(); u += size_t(o.slices))
            mine.push_back(std::move(rooms_of[u]));
        rooms_of = std::move(mine);
        if (plan) {
            std::cout << o.users << " " << o.rooms << "\n";
            return 0;
        }
        std::cerr << "lync-model x" << o.factor << ": " << o.users << " users, " << o.rooms
                  << " rooms, " << o.rate << " posts/s";
        if (o.slices > 1)
            std::cerr << "; this process: " << rooms_of.size() << " users (slice " << o.slice
                      << " of " << o.slices << ")";
        std::cerr << "\n";
        o.users = int(rooms_of.size());
    }
    if (o.scenario == "fanout") {
        o.rooms = 1;
        o.rooms_per_user = 1;
    }
    if (o.scenario == "history") o.rooms_per_user = 0;  // rooms are joined round by round
    if (o.muc_domain.empty()) o.muc_domain = "chat." + o.domain;
    Run run(o);
    if (!rooms_of.empty()) run.set_model(std::move(rooms_of), std::move(members));
    return run.execute();
}
