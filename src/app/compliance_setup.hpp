#pragma once
#include <optional>
#include <string>
#include <vector>
#include "app/config.hpp"

#include "compliance/export.hpp"
#include "compliance/service.hpp"
#include "store/store.hpp"
#include "web/admin_api.hpp"

namespace perch::app {

// The XML adapter's options from the configuration; user details are read from `store` (which
// must outlive the options); the service sets its own lookup.
inline compliance::XmlOptions xml_options(const Config& config, store::Store& store) {
    compliance::XmlOptions o;
    o.domain = config.domain;
    o.muc_domain = config.muc_domain();
    o.user_details = config.compliance.user_details;
    o.room_details = config.compliance.room_details;
    o.file_manifest = config.compliance.file_manifest;
    o.user_lookup = [&store](const std::string& name) -> std::optional<compliance::UserDetails> {
        auto u = store.find_user(name);
        if (!u) return std::nullopt;
        return compliance::UserDetails{u->display_name, u->email};
    };
    return o;
}

// The compliance chain verified against the checkpoints the database and the export directory
// hold and `extra_checkpoints` (their JSON texts), under `public_keys` (PEM texts; none: the
// public part of compliance.checkpoint_key). `unreadable` names what was not a checkpoint.
struct ComplianceVerification {
    compliance::VerifyResult result;
    std::vector<std::string> unreadable;
};
ComplianceVerification verify_compliance(const Config& config,
                                         const std::vector<std::string>& extra_checkpoints,
                                         const std::vector<std::string>& public_keys);

// A selection of events written to `out` ("xml" or "jsonl"), with the chain's head signed
// beside it (`out`.checkpoint.json). Throws on a bad format or an unwritable file.
struct ComplianceExport {
    size_t events = 0;
    std::optional<int64_t> checkpoint_seq;
};
ComplianceExport export_compliance(const Config& config, store::Store& store,
                                   const compliance::Selection& selection,
                                   const std::string& format, const std::string& out);

// The compliance officer's area of the admin API, on this server's compliance service and
// settings (status, verify, export).
web::ComplianceAdmin compliance_admin(const Config& config, compliance::Service& service);

}  // namespace perch::app
