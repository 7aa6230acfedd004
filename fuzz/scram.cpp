// The SCRAM server (xmpp/scram): a client-first message, then a client-final one (the input
// cut at its first newline), for a known and an unknown user; and the stored form of a
// credential read back.
#include <cstdint>
#include <optional>
#include <string>

#include "xmpp/scram.hpp"

using namespace perch;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const xmpp::ScramCredential known =
        xmpp::ScramCredential::derive(util::Hash::sha256, "pencil", "saltsaltsaltsalt", 2);
    std::string_view input(reinterpret_cast<const char*>(data), size);
    (void)xmpp::ScramCredential::decode(util::Hash::sha256, input);
    size_t cut = input.find('\n');
    std::string_view first = input.substr(0, cut);
    std::string_view final = cut == std::string_view::npos ? "" : input.substr(cut + 1);
    for (bool is_known : {true, false}) {
        xmpp::ScramServer server(util::Hash::sha256, "the server's secret");
        if (!server.read_client_first(first)) continue;
        (void)server.server_first(is_known ? std::optional(known) : std::nullopt, "suffix");
        (void)server.read_client_final(final);
    }
    return 0;
}
