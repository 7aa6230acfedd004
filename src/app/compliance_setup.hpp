#pragma once
#include "app/config.hpp"
#include "compliance/export.hpp"
#include "store/store.hpp"

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

}  // namespace perch::app
