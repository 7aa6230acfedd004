#include "compliance/service.hpp"

#include <charconv>
#include <filesystem>
#include <fstream>

#include <spdlog/spdlog.h>

#include "util/thread_name.hpp"
#include "util/time.hpp"

namespace perch::compliance {

namespace fs = std::filesystem;

namespace {
constexpr int kBatch = 1000;
}  // namespace

Service::Service(ServiceConfig config, store::StoreConfig content)
    : config_(std::move(config)), content_(std::move(content)) {
    if (!config_.checkpoint_key.empty())
        checkpoint_key_ = CheckpointKey::open(config_.checkpoint_key, true);
}

Service::~Service() {
    stop();
}

void Service::start() {
    thread_ = std::thread([this] {
        util::name_this_thread("perch-recorder");
        run();
    });
}

void Service::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void Service::wake() {
    {
        std::lock_guard lock(mutex_);
        woken_ = true;
    }
    cv_.notify_all();
}

bool Service::move_events(store::Store& content, Log& log) {
    auto batch = content.outbox(kBatch);
    if (batch.empty()) return false;
    // Into the log first; the outbox forgets only what the log holds. A crash in between
    // leaves events in both, and append() skips them next time.
    int64_t taken = log.append(batch);
    content.outbox_done(taken);
    return batch.size() == size_t(kBatch);
}

void Service::run() {
    std::unique_ptr<store::Store> content;
    std::unique_ptr<Log> log;
    auto last_export = std::chrono::steady_clock::now();
    for (;;) {
        bool more = false;
        try {
            if (!content) content = store::open_store(content_);
            // One mover for a pool's servers: the chain has one writer, the exports one
            // author. The others wait; when the mover dies its lock goes with its connection.
            bool leading = content->lead("compliance-mover");
            if (leading != leading_) {
                spdlog::info(leading ? "compliance: this server moves the pool's events"
                                     : "compliance: another server of the pool moves the events");
                leading_ = leading;
            }
            if (!leading) {
                std::unique_lock lock(mutex_);
                if (stopping_) return;
                cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_; });
                continue;
            }
            if (!log) log = std::make_unique<Log>(config_.path, config_.url);
            more = move_events(*content, *log);
            if (std::chrono::steady_clock::now() >= last_export + options().run_interval) {
                export_now(*log, *content);
                purge_expired(*log);
                last_export = std::chrono::steady_clock::now();
            }
            if (!healthy_.exchange(true)) spdlog::info("compliance database usable again");
        } catch (const std::exception& e) {
            if (healthy_.exchange(false))
                spdlog::error("compliance: {} (events wait in the outbox)", e.what());
            log.reset();  // reopened on the next round
            more = false;
        }
        std::unique_lock lock(mutex_);
        if (stopping_ && !more) {
            if (content && log) {
                lock.unlock();
                try {
                    while (move_events(*content, *log)) {
                    }
                } catch (const std::exception& e) {
                    spdlog::error("compliance at shutdown: {}", e.what());
                }
            }
            return;
        }
        if (more) continue;
        cv_.wait_for(lock, healthy_ ? std::chrono::milliseconds(200) : std::chrono::seconds(1),
                     [&] { return stopping_ || woken_; });
        woken_ = false;
    }
}

ServiceOptions Service::options() const {
    std::lock_guard lock(mutex_);
    return config_.options;
}

void Service::set_options(const ServiceOptions& options) {
    {
        std::lock_guard lock(mutex_);
        config_.options = options;
        woken_ = true;
    }
    cv_.notify_all();
}

std::vector<std::string> Service::export_now(Log& log, store::Store& content) {
    const ServiceOptions now = this->options();
    auto options = config_.xml_options;
    options.user_details = now.user_details;
    options.room_details = now.room_details;
    options.file_manifest = now.file_manifest;
    options.user_lookup = [&content](const std::string& name) -> std::optional<UserDetails> {
        auto u = content.find_user(name);
        if (!u) return std::nullopt;
        return UserDetails{u->display_name, u->email};
    };
    std::vector<std::string> written;
    for (auto [adapter, on] : {std::pair{"xml", now.xml}, {"jsonl", now.jsonl}}) {
        if (!on) continue;
        Selection s;
        s.after_seq = log.cursor(adapter);
        auto events = log.read(s);
        if (events.empty()) continue;
        fs::path dir = fs::path(config_.export_dir) / adapter;
        fs::create_directories(dir);
        // Named by the events it holds: a run repeated after a crash rewrites the same file.
        std::string base = "events-" + std::to_string(events.front().seq) + "-" +
                           std::to_string(events.back().seq);
        if (std::string(adapter) == "jsonl") {
            write_file((dir / (base + ".jsonl")).string(), to_jsonl(events));
            written.push_back((dir / (base + ".jsonl")).string());
        } else if (now.one_room_per_file) {
            std::map<std::string, std::vector<LoggedEvent>> rooms;
            for (auto& e : events) rooms[e.event.room].push_back(e);
            for (auto& [room, list] : rooms) {
                auto file = dir / (base + "-" + (room.empty() ? "server" : room) + ".xml");
                write_file(file.string(), to_xml(list, options));
                written.push_back(file.string());
            }
        } else {
            write_file((dir / (base + ".xml")).string(), to_xml(events, options));
            written.push_back((dir / (base + ".xml")).string());
        }
        log.set_cursor(adapter, events.back().seq);
        spdlog::info("compliance: exported events {} to {} as {}", events.front().seq,
                     events.back().seq, adapter);
    }
    // The head signed beside what was exported: the files leave the database's reach, and
    // with them the proof of how far the chain went and what it was.
    if (!written.empty() && checkpoint_key_) {
        auto head = log.head();
        std::string path = (fs::path(config_.export_dir) / "checkpoints" /
                            ("checkpoint-" + std::to_string(head->first) + ".json"))
                               .string();
        if (write_checkpoint(log, *checkpoint_key_, path)) written.push_back(path);
    }
    return written;
}

std::optional<Checkpoint> write_checkpoint(Log& log, const CheckpointKey& key,
                                           const std::string& path) {
    auto c = log.checkpoint(key);
    if (!c) return std::nullopt;
    if (auto parent = fs::path(path).parent_path(); !parent.empty()) fs::create_directories(parent);
    write_file(path, c->to_json() + "\n");
    return c;
}

std::vector<Checkpoint> exported_checkpoints(const std::string& export_dir,
                                             std::vector<std::string>& unreadable) {
    std::vector<Checkpoint> out;
    fs::path dir = fs::path(export_dir) / "checkpoints";
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return out;
    for (const auto& entry : fs::directory_iterator(dir)) {
        if (entry.path().extension() != ".json") continue;
        std::ifstream in(entry.path());
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (auto c = Checkpoint::from_json(text))
            out.push_back(std::move(*c));
        else
            unreadable.push_back(entry.path().string());
    }
    return out;
}

void Service::purge_expired(Log& log) {
    const ServiceOptions now = options();
    if (now.retention_days <= 0) return;
    // Only what every adapter has exported may go.
    int64_t exported = log.last_seq();
    if (now.xml) exported = std::min(exported, log.cursor("xml"));
    if (now.jsonl) exported = std::min(exported, log.cursor("jsonl"));
    int64_t cutoff = util::now_us() - int64_t(now.retention_days) * 86'400'000'000;
    if (int64_t n = log.purge(cutoff, exported))
        spdlog::info("compliance: {} events older than {} days purged", n, now.retention_days);
}

const std::vector<std::string>& option_names() {
    static const std::vector<std::string> names{
        "run_interval_s", "xml",          "jsonl",         "one_room_per_file",
        "user_details",   "room_details", "file_manifest", "retention_days"};
    return names;
}

namespace {
bool ServiceOptions::*flag_of(const std::string& name) {
    if (name == "xml") return &ServiceOptions::xml;
    if (name == "jsonl") return &ServiceOptions::jsonl;
    if (name == "one_room_per_file") return &ServiceOptions::one_room_per_file;
    if (name == "user_details") return &ServiceOptions::user_details;
    if (name == "room_details") return &ServiceOptions::room_details;
    if (name == "file_manifest") return &ServiceOptions::file_manifest;
    return nullptr;
}

int64_t whole_number(const std::string& name, const std::string& value, int64_t lo, int64_t hi) {
    int64_t n = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (value.empty() || ec != std::errc() || end != value.data() + value.size() || n < lo ||
        n > hi)
        throw std::invalid_argument(name + " must be a whole number from " + std::to_string(lo) +
                                    " to " + std::to_string(hi));
    return n;
}
}  // namespace

std::string option_text(const ServiceOptions& o, const std::string& name) {
    if (name == "run_interval_s") return std::to_string(o.run_interval.count());
    if (name == "retention_days") return std::to_string(o.retention_days);
    if (auto flag = flag_of(name)) return o.*flag ? "true" : "false";
    throw std::invalid_argument("no compliance setting named '" + name + "'");
}

void set_option(ServiceOptions& o, const std::string& name, const std::string& value) {
    if (name == "run_interval_s") {
        // The original's RunInterval: a minute to thirty days.
        o.run_interval = std::chrono::seconds(whole_number(name, value, 60, int64_t{30} * 86400));
    } else if (name == "retention_days") {
        o.retention_days = int(whole_number(name, value, 0, 36500));
    } else if (auto flag = flag_of(name)) {
        if (value != "true" && value != "false")
            throw std::invalid_argument(name + " must be true or false");
        o.*flag = value == "true";
    } else {
        throw std::invalid_argument("no compliance setting named '" + name + "'");
    }
    if (!o.xml && !o.jsonl)
        throw std::invalid_argument("one export adapter at least (xml or jsonl) must stay on");
}

ServiceOptions with_stored(ServiceOptions base, const std::map<std::string, std::string>& stored) {
    for (const auto& [key, value] : stored) {
        if (!key.starts_with("compliance.")) continue;
        try {
            set_option(base, key.substr(11), value);
        } catch (const std::invalid_argument& e) {
            spdlog::warn("stored compliance setting skipped: {}", e.what());
        }
    }
    return base;
}

size_t export_selection(Log& log, const Selection& selection, const std::string& format,
                        const XmlOptions& options, const std::string& path) {
    auto events = log.read(selection);
    if (format == "jsonl")
        write_file(path, to_jsonl(events));
    else if (format == "xml")
        write_file(path, to_xml(events, options));
    else
        throw std::runtime_error("unknown export format " + format + " (xml or jsonl)");
    return events.size();
}

}  // namespace perch::compliance
