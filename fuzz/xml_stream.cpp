// The XMPP stream parser (xml/stream_parser): any bytes, cut in pieces as a network would cut
// them, under small limits. Every element it delivers must survive the way back: serialised
// as the server writes it and parsed again, the same text.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "xml/serializer.hpp"
#include "xml/stream_parser.hpp"

namespace {

using namespace perch::xml;

struct Collect final : StreamParser::Handler {
    std::vector<Element> elements;
    void on_stream_open(const Element&) override {}
    void on_element(Element&& e) override {
        if (elements.size() < 16) elements.push_back(std::move(e));
    }
    void on_stream_close() override {}
};

constexpr const char* kHeader =
    "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    // The first byte: the size of the pieces (1 to 64 bytes), and whether the parser is
    // released between them when idle (as an idle connection's is).
    const size_t piece = data[0] % 64 + 1;
    const bool release = data[0] & 0x40;
    std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
    Collect sink;
    StreamParser parser(sink, ParserLimits{4096, 8, 16, 1024});
    for (size_t at = 0; at < input.size(); at += piece) {
        if (!parser.feed(input.substr(at, piece))) break;
        if (release) parser.release_if_idle();
    }
    for (const Element& e : sink.elements) {
        std::string text = to_string(e, "jabber:client");
        Collect again;
        StreamParser reparse(again);
        if (!reparse.feed(std::string(kHeader) + text) || again.elements.size() != 1 ||
            to_string(again.elements[0], "jabber:client") != text) {
            std::fprintf(stderr, "round trip failed for: %s\n", text.c_str());
            std::abort();
        }
    }
    return 0;
}
