// Files posted into rooms (XEP-0363): a PUT to the slot URL stores the bytes under their
// SHA-256 in the file store and the metadata in the database; a GET of the download URL serves
// them to the uploader and to the readers of the rooms the link was posted into.
#include <filesystem>
#include <nlohmann/json.hpp>

#include <spdlog/spdlog.h>

#include "util/crypto.hpp"
#include "util/time.hpp"
#include "util/url.hpp"
#include "web/app.hpp"

namespace perch::web {

namespace fs = std::filesystem;
using net::HttpRequest;
using net::HttpResponse;

namespace {

// "/upload/TOKEN/NAME" or "/files/ID/NAME" -> TOKEN or ID.
std::string first_segment(const std::string& path, size_t prefix) {
    std::string rest = path.substr(prefix);
    return rest.substr(0, rest.find('/'));
}

std::string content_path(const std::string& files_dir, const std::string& sha256) {
    return (fs::path(files_dir) / sha256.substr(0, 2) / sha256).string();
}

// Types a browser may show inline from our origin without running anything.
bool shown_inline(const std::string& type) {
    return type == "image/png" || type == "image/jpeg" || type == "image/gif" ||
           type == "image/webp" || type == "audio/mpeg" || type == "audio/ogg" ||
           type == "video/mp4" || type == "video/webm" || type == "application/pdf" ||
           type == "text/plain";
}

HttpResponse unauthorized(const AuthAnswer& why) {
    if (why.result == AuthResult::throttled) return too_many_attempts(why.retry_after);
    auto r = json_error(401, why.result == AuthResult::missing ? "Sign in with your chat account"
                                                               : "Wrong user name or password");
    r.set("WWW-Authenticate", "Basic realm=\"Perch\", charset=\"UTF-8\"");
    return r;
}

}  // namespace

std::string WebApp::upload_temp_path(const std::string& token) const {
    return (fs::path(config_.files_dir) / "tmp" / util::url_path_segment(token)).string();
}

void WebApp::upload(const HttpRequest& request, const Respond& respond) {
    std::string token = first_segment(request.path, 8);
    auto slot = deps_.uploads.take(token, util::now_us());
    if (!slot || request.body_file.empty() || request.body_bytes != slot->size) {
        std::error_code ec;
        if (!request.body_file.empty()) fs::remove(request.body_file, ec);
        return respond(json_error(slot ? 400 : 404,
                                  slot ? "The upload is incomplete" : "No such upload slot"));
    }
    // Hashing and moving a file of many megabytes: on a store thread, not an I/O thread.
    bool queued = deps_.workers.submit(
        [this, slot = *slot, temp = request.body_file, respond](store::Store& s) {
            std::error_code ec;
            try {
                std::string sha = util::hex(util::file_digest(util::Hash::sha256, temp));
                std::string target = content_path(config_.files_dir, sha);
                fs::create_directories(fs::path(target).parent_path());
                if (fs::exists(target))
                    fs::remove(temp, ec);  // the same bytes are already there
                else
                    fs::rename(temp, target);
                store::FileRecord f;
                f.id = slot.file_id;
                f.sha256 = sha;
                f.size = slot.size;
                f.content_type = slot.content_type;
                f.name = slot.name;
                f.owner = slot.owner;
                f.created_us = util::now_us();
                s.with_events({store::make_event("FILEUPLOAD", f.owner, {}, {},
                                                 {{"id", f.id},
                                                  {"name", f.name},
                                                  {"size", std::to_string(f.size)},
                                                  {"type", f.content_type},
                                                  {"sha256", sha}})},
                              [&] { s.add_file(f); });
                uploads_.fetch_add(1, std::memory_order_relaxed);
                spdlog::info("{} uploaded {} ({} bytes, sha256 {})", f.owner, f.name, f.size, sha);
                auto r = json_answer(201, nlohmann::json{{"id", f.id}, {"sha256", sha}});
                r.set("Access-Control-Allow-Origin", "*");
                respond(std::move(r));
            } catch (const std::exception& e) {
                fs::remove(temp, ec);
                spdlog::error("storing upload {} failed: {}", slot.name, e.what());
                respond(json_error(500, "The file could not be stored"));
            }
        });
    if (!queued) respond(json_error(503, "Server busy, try again"));
}

void WebApp::download(const HttpRequest& request, const Respond& respond) {
    std::string id = first_segment(request.path, 7);
    authenticate(request, sessions_, deps_.credentials, config_.domain,
                 [this, id, respond](AuthAnswer answer) {
                     if (answer.result != AuthResult::ok) return respond(unauthorized(answer));
                     bool queued = deps_.workers.submit(
                         [this, id, user = *answer.user, respond](store::Store& s) {
                             auto file = s.find_file(id);
                             if (!file) return respond(json_error(404, "No such file"));
                             bool allowed = file->owner == user.username;
                             if (!allowed && user.subject)
                                 for (int64_t room : s.file_rooms(id))
                                     if (deps_.directory.may_read_room(*user.subject, room)) {
                                         allowed = true;
                                         break;
                                     }
                             if (!allowed)
                                 return respond(json_error(
                                     403, "This file was not posted in a room you may read"));
                             // On record before a byte leaves (the store drops it when compliance
                             // is off).
                             s.record({store::make_event("FILEDOWNLOAD", user.username, {}, {},
                                                         {{"id", id},
                                                          {"name", file->name},
                                                          {"size", std::to_string(file->size)},
                                                          {"sha256", file->sha256}})});
                             downloads_.fetch_add(1, std::memory_order_relaxed);
                             spdlog::info("{} downloaded {} ({})", user.username, file->name, id);
                             HttpResponse r;
                             r.file = content_path(config_.files_dir, file->sha256);
                             bool inline_ok = shown_inline(file->content_type);
                             r.set("Content-Type", file->content_type);
                             r.set("Content-Disposition",
                                   std::string(inline_ok ? "inline" : "attachment") +
                                       "; filename*=UTF-8''" + util::url_path_segment(file->name));
                             r.set("X-Content-Type-Options", "nosniff");
                             r.set("Content-Security-Policy", "sandbox; default-src 'none'");
                             r.set("Cache-Control", "private, max-age=86400");
                             respond(std::move(r));
                         });
                     if (!queued) respond(json_error(503, "Server busy, try again"));
                 });
}

}  // namespace perch::web
