// perch-bench: an XMPP load generator for Perch and its peers (ejabberd, Prosody).
//
//   perch-bench connect --users 10000 --rooms 100 --rooms-per-user 2 --idle 10 --server-pid PID
//   perch-bench fanout  --users 1000 --senders 10 --rate 20 --duration 20
//   perch-bench post    --users 2000 --rooms 2000 --rate 20000 --duration 20
//   perch-bench lync-model --factor 0.24 --duration 60
//
// Plain TCP on loopback, from many source addresses (127.0.0.1 … 127.0.0.N) so that no single
// address runs out of ephemeral ports. Bounded in count and time; prints a summary and, with
// --json, writes the figures as JSON.
#include <sys/resource.h>
#include <CLI/CLI.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <sstream>

#include "bench_client.hpp"

using namespace perch::bench;

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
    int concurrency = 500;  // logins in flight
    double idle = 5;
    int senders = 10;
    double rate = 10;  // messages per second, all senders together
    double duration = 10;
    double drain = 10;
    int server_pid = 0;
    double timeout = 300;
    std::string json;
    double factor = 0.24;  // lync-model
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
        observer_.on_bound = [this] { ++bound_; };
        observer_.on_joined = [this] {
            if (++joined_ == o_.users) {
                joined_s_ = seconds_since(t0_);
                bound_s_ = last_bound_s_ > 0 ? last_bound_s_ : joined_s_;
                std::cerr << "all " << o_.users << " sessions joined after " << joined_s_ << " s\n";
                after_join_ = sample(o_.server_pid);
                phase_two();
            }
            launch_more();
        };
        observer_.on_failed = [this](std::string why) {
            if (failures_++ < 5) std::cerr << "client failed: " << why << "\n";
            --in_flight_;
            launch_more();
            check_stuck();
        };
        observer_.on_delivery = [this](int64_t sent) {
            ++received_;
            if (measuring_) latencies_.push_back(now_ns() - sent);
        };
        auto original_bound = observer_.on_bound;
        observer_.on_bound = [this] {
            ++bound_;
            --in_flight_;
            if (bound_ == o_.users) last_bound_s_ = seconds_since(t0_);
            launch_more();
        };
        clients_.reserve(size_t(o_.users));
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
            a.user = o_.user_prefix + std::to_string(o_.first_user + i);
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
            auto source = asio::ip::make_address_v4(
                "127.0.0." + std::to_string(1 + i % std::max(1, std::min(o_.sources, 254))));
            c->start(source, server_);
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
        } else {
            // fanout: senders post at the given total rate for `duration` seconds.
            measuring_ = true;
            send_start_ = Clock::now();
            send_tick();
        }
    }

    void send_tick() {
        double elapsed = seconds_since(send_start_);
        if (elapsed >= o_.duration) {
            send_s_ = elapsed;
            after_send_ = sample(o_.server_pid);
            drain_start_ = Clock::now();
            return drain_tick();
        }
        // Catch up to where the schedule says we should be.
        auto due = int64_t(elapsed * o_.rate) + 1;
        while (sent_ < due) {
            if (o_.scenario == "lync-model") {
                // A random room; its first member posts; every member receives it.
                std::uniform_int_distribution<size_t> pick(0, model_members_.size() - 1);
                size_t room = pick(rng_);
                int sender = model_members_[room].front();
                std::string name = o_.room_prefix + std::to_string(room + 1);
                clients_[size_t(sender)]->send_groupchat(name, sent_);
                expected_ += occupants_[name];
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
        if (received_ >= expected_ || seconds_since(drain_start_) > o_.drain) return finish();
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
        if (o_.scenario != "connect") {
            std::vector<int64_t> lat = latencies_;
            double p50 = percentile(lat, 50), p99 = percentile(lat, 99), max = percentile(lat, 100);
            double rate =
                send_s_ > 0 ? double(received_) / (send_s_ + seconds_since(drain_start_) * 0) : 0;
            int64_t lost = expected_ - received_;
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
        j << "}";
        if (!o_.json.empty()) std::ofstream(o_.json) << j.str() << "\n";
        bool ok = !timed_out_ && failures_ == 0 && joined_ == o_.users &&
                  (o_.scenario == "connect" || received_ == expected_);
        return ok ? 0 : 1;
    }

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
    app.add_option("--server-pid", o.server_pid, "Server process, for memory and CPU figures");
    app.add_option("--timeout", o.timeout, "Give up after this many seconds");
    app.add_option("--json", o.json, "Write the figures to this file");
    auto* connect = app.add_subcommand("connect", "Sessions log in, join rooms, then idle");
    connect->add_option("--idle", o.idle, "Seconds to stay idle after everybody joined");
    auto* fanout = app.add_subcommand("fanout", "Everybody in one room; some post at a fixed rate");
    fanout->add_option("--senders", o.senders, "How many of the occupants post");
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
    bool plan = false;
    model->add_flag("--plan", plan, "Print the accounts and rooms to provision, and exit");
    CLI11_PARSE(app, argc, argv);
    o.scenario = connect->parsed() ? "connect"
                 : post->parsed()  ? "post"
                 : model->parsed() ? "lync-model"
                                   : "fanout";
    std::vector<std::vector<int>> rooms_of, members;
    if (o.scenario == "lync-model") {
        rooms_of = Run::lync_model(o, members);
        if (plan) {
            std::cout << o.users << " " << o.rooms << "\n";
            return 0;
        }
        std::cerr << "lync-model x" << o.factor << ": " << o.users << " users, " << o.rooms
                  << " rooms, " << o.rate << " posts/s\n";
    }
    if (o.scenario == "fanout") {
        o.rooms = 1;
        o.rooms_per_user = 1;
    }
    if (o.muc_domain.empty()) o.muc_domain = "chat." + o.domain;
    Run run(o);
    if (!rooms_of.empty()) run.set_model(std::move(rooms_of), std::move(members));
    return run.execute();
}
