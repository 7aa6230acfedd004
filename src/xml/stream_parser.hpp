#pragma once
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "xml/element.hpp"

namespace perch::xml {

struct ParserLimits {
    size_t max_stanza_bytes = size_t{256} * 1024;  // one top-level element, as received
    size_t max_depth = 24;                         // nesting below the stream root
    size_t max_attrs = 64;                         // per element
    size_t max_header_bytes = size_t{16} * 1024;   // the stream header, up to its '>'
};

enum class ParseError {
    none,
    not_well_formed,  // broken syntax
    restricted_xml,   // DTD, entity declaration, comment or processing instruction
    too_large,        // a stanza over max_stanza_bytes, or a header over max_header_bytes
    too_deep,         // nesting over max_depth, or too many attributes
};

// Incremental parser for an XMPP stream: a root element (the stream header) whose direct
// children are delivered one by one as complete trees. Implements the restricted XML of
// RFC 6120 section 11.1 on top of expat, and bounds every input.
class StreamParser {
  public:
    class Handler {
      public:
        virtual ~Handler() = default;
        virtual void on_stream_open(const Element& header) = 0;
        virtual void on_element(Element&& stanza) = 0;
        virtual void on_stream_close() = 0;
    };

    StreamParser(Handler& handler, ParserLimits limits = {});
    ~StreamParser();
    StreamParser(const StreamParser&) = delete;
    StreamParser& operator=(const StreamParser&) = delete;

    // Parses more input. Returns false once the stream is broken; error() says why and the
    // parser accepts nothing more until reset().
    bool feed(std::string_view data);
    // Starts a fresh document, as after STARTTLS or SASL success. May be called from inside a
    // handler: the rest of the current input is then dropped (a client sends nothing after
    // those points until it has the server's answer).
    void reset();

    // Between stanzas, frees the XML parser's memory (several KB per stream) when the input so
    // far ends exactly at a stanza boundary; the next feed() builds a new parser that carries on
    // in the same namespaces. Idle connections then hold no parser at all.
    void release_if_idle();
    bool holds_parser() const;

    // The default namespace the stream header declared (the stream's content namespace), or
    // empty; known from the header on (in on_stream_open too).
    std::string_view default_namespace() const;

    ParseError error() const { return error_; }
    const std::string& error_text() const { return error_text_; }

    struct State;

  private:
    Handler& handler_;
    ParserLimits limits_;
    std::unique_ptr<State> state_;
    ParseError error_ = ParseError::none;
    std::string error_text_;
    bool reset_requested_ = false;
    bool in_feed_ = false;
    bool resuming_ = false;  // parsing the stand-in stream header of a resumed parser
    // The stream header's namespace declarations (prefix, uri; empty prefix: the default),
    // replayed in a stand-in header when a released parser is built again.
    std::vector<std::pair<std::string, std::string>> root_namespaces_;
    std::string root_name_;  // as written, e.g. "stream:stream"

    void create();
    void build_parser();
    friend struct ParserCallbacks;
};

std::string_view describe(ParseError e);

// One element from text the server wrote itself (a stored payload): nullopt when it does not
// parse as exactly that.
std::optional<Element> parse_fragment(std::string_view text);

}  // namespace perch::xml
