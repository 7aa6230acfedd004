#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace perch::xmpp {

// XMPP over WebSocket (RFC 7395) wants each frame to hold one complete element that declares
// its own namespaces. A session writes as on a TCP stream, where stanzas inherit jabber:client
// from the stream header; this splits what it writes into top-level elements and declares the
// default namespace on the stanzas that lack it. The input is the server's own serialisation:
// well formed, with '<' and '>' escaped inside text and attribute values.
std::vector<std::string> websocket_frames(std::string_view bytes);

}  // namespace perch::xmpp
