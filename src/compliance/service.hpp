#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "compliance/export.hpp"
#include "compliance/log.hpp"
#include "store/store.hpp"

namespace perch::compliance {

// What a compliance officer or an administrator changes while the servers run (the original's
// compliance configuration): the configuration file's values, with those set through the admin
// API (kept in the database as settings named "compliance.NAME") over them.
struct ServiceOptions {
    std::chrono::seconds run_interval{900};
    bool xml = true, jsonl = true;
    bool one_room_per_file = false;
    bool user_details = false, room_details = false, file_manifest = false;  // XML adapter
    int retention_days = 0;  // exported events older than this are purged; 0 keeps them
};
// The options' names (run_interval_s, xml, jsonl, one_room_per_file, user_details,
// room_details, file_manifest, retention_days), their values as text, and setting one from text
// (std::invalid_argument saying what is wrong).
const std::vector<std::string>& option_names();
std::string option_text(const ServiceOptions& o, const std::string& name);
void set_option(ServiceOptions& o, const std::string& name, const std::string& value);
// `base` with the stored "compliance.NAME" settings over it (invalid ones skipped, warned).
ServiceOptions with_stored(ServiceOptions base, const std::map<std::string, std::string>& stored);

struct ServiceConfig {
    std::string path;            // the compliance database: a SQLite file,
    std::string url;             // or PostgreSQL when this connection string is set
    std::string export_dir;      // one subdirectory per adapter: xml/, jsonl/; checkpoints/
    std::string checkpoint_key;  // signs a checkpoint of the chain's head after each export
    ServiceOptions options;
    XmlOptions xml_options;  // its domains (the details come from the options)
};

// Moves events from the content database's outbox into the compliance log (each once, in
// order, chained), and runs the export adapters every run interval. One thread.
class Service {
  public:
    Service(ServiceConfig config, store::StoreConfig content);
    ~Service();
    void start();
    void stop();  // moves what is queued, then returns
    void wake();  // there are new events
    // False while the compliance database cannot be written (events wait in the outbox).
    bool healthy() const { return healthy_.load(); }
    // The options in force, and new ones (the next export follows them; a shorter interval
    // brings it closer).
    ServiceOptions options() const;
    void set_options(const ServiceOptions& options);

    // One export of everything after the adapters' cursors, now. Returns the files written.
    std::vector<std::string> export_now(Log& log, store::Store& content);

  private:
    void run();
    bool move_events(store::Store& content, Log& log);
    void purge_expired(Log& log);

    ServiceConfig config_;  // config_.options under mutex_
    store::StoreConfig content_;
    std::optional<CheckpointKey> checkpoint_key_;
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    bool stopping_ = false;
    bool leading_ = true;  // moves the events (in a pool: holds the mover's lock)
    bool woken_ = false;
    std::atomic<bool> healthy_{true};
    std::thread thread_;
};

// Signs a checkpoint of the chain's head with `key`, keeps it in the log and writes it to
// `path` (JSON). Returns it; nullopt while the chain is empty (nothing written).
std::optional<Checkpoint> write_checkpoint(Log& log, const CheckpointKey& key,
                                           const std::string& path);
// The checkpoints an export directory holds (checkpoints/*.json); files that are not
// checkpoints are named in `unreadable`.
std::vector<Checkpoint> exported_checkpoints(const std::string& export_dir,
                                             std::vector<std::string>& unreadable);

// Export of a selection to one file, outside the schedule (legal hold, discovery); cursors are
// not moved. `format` is "xml" or "jsonl". Returns how many events were written.
size_t export_selection(Log& log, const Selection& selection, const std::string& format,
                        const XmlOptions& options, const std::string& path);

}  // namespace perch::compliance
