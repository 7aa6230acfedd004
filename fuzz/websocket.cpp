// XMPP over WebSocket as the server reads it: an upgrade, then any bytes from the client as
// frames (Beast's server stream, with the server's message limit); each message goes to a
// stream parser inside the synthetic root a WebSocket session uses, and what it delivers is
// written back as the server frames it (xmpp/ws_framing): one whole element per frame.
#include <boost/asio/io_context.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "xml/serializer.hpp"
#include "xml/stream_parser.hpp"
#include "xmpp/ws_framing.hpp"

namespace beast = boost::beast;
namespace websocket = beast::websocket;
using namespace perch;

namespace {

struct Collect final : xml::StreamParser::Handler {
    std::vector<xml::Element> elements;
    void on_stream_open(const xml::Element&) override {}
    void on_element(xml::Element&& e) override {
        if (elements.size() < 16) elements.push_back(std::move(e));
    }
    void on_stream_close() override {}
};

constexpr const char* kUpgrade =
    "GET /xmpp-websocket HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: xmpp\r\n\r\n";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    boost::asio::io_context io;
    beast::test::stream client(io);
    client.append(kUpgrade);
    client.append(std::string_view(reinterpret_cast<const char*>(data), size));
    auto peer = beast::test::connect(client);
    peer.close();  // the client says no more: reads end where the input does
    websocket::stream<beast::test::stream> ws(std::move(client));
    ws.read_message_max(4096 + 4096);
    beast::error_code ec;
    ws.accept(ec);
    if (ec) return 0;
    Collect sink;
    xml::StreamParser parser(sink, xml::ParserLimits{4096, 8, 16, 1024});
    parser.feed("<stream xmlns='jabber:client'>");
    for (int messages = 0; messages < 64; ++messages) {
        beast::flat_buffer buffer;
        ws.read(buffer, ec);
        if (ec) break;
        if (!parser.feed(beast::buffers_to_string(buffer.data()))) break;
    }
    std::string written;
    for (const auto& e : sink.elements) xml::serialize(written, e, "jabber:client");
    for (const auto& frame : xmpp::websocket_frames(written)) {
        Collect one;
        xml::StreamParser check(one);
        if (!check.feed("<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>" +
                        frame) ||
            one.elements.size() != 1) {
            std::fprintf(stderr, "frame is not one whole element: %s\n", frame.c_str());
            std::abort();
        }
    }
    return 0;
}
