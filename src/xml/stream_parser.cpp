#include "xml/stream_parser.hpp"

#include <expat.h>

#include <vector>

namespace perch::xml {

struct StreamParser::State {
    XML_Parser parser = nullptr;
    std::vector<Element> stack;  // open elements below the root; back() is the innermost
    size_t depth = 0;            // 1 inside the root element
    XML_Index stanza_start = 0;  // byte offset where the current top-level child began
    XML_Index fed_total = 0;     // bytes given to this parser so far
    XML_Index settled = 0;       // offset up to which input ended in whole stanzas

    ~State() {
        if (parser) XML_ParserFree(parser);
    }
};

struct ParserCallbacks {
    static StreamParser& self(void* data) { return *static_cast<StreamParser*>(data); }

    static void fail(StreamParser& p, ParseError e, std::string text) {
        if (p.error_ == ParseError::none) {
            p.error_ = e;
            p.error_text_ = std::move(text);
        }
        XML_StopParser(p.state_->parser, XML_FALSE);
    }

    static bool check_size(StreamParser& p) {
        auto& s = *p.state_;
        if (s.depth >= 2 && size_t(XML_GetCurrentByteIndex(s.parser) - s.stanza_start) >
                                p.limits_.max_stanza_bytes) {
            fail(p, ParseError::too_large, "stanza larger than the limit");
            return false;
        }
        return true;
    }

    // expat names namespaced elements "uri local prefix" (triplets are on, so that a stand-in
    // root can be written as the real one was). Returns local name and namespace.
    static std::pair<std::string, std::string> split_name(const char* expat_name) {
        std::string_view n(expat_name);
        auto space = n.find(' ');
        if (space == std::string_view::npos) return {std::string(n), std::string()};
        std::string_view local = n.substr(space + 1);
        local = local.substr(0, local.find(' '));
        return {std::string(local), std::string(n.substr(0, space))};
    }

    // The element's name as written: prefix:local or local.
    static std::string written_name(const char* expat_name) {
        std::string_view n(expat_name);
        auto first = n.find(' ');
        if (first == std::string_view::npos) return std::string(n);
        auto second = n.find(' ', first + 1);
        std::string_view local =
            n.substr(first + 1, second == n.npos ? n.npos : second - first - 1);
        if (second == n.npos) return std::string(local);
        return std::string(n.substr(second + 1)) + ":" + std::string(local);
    }

    static void namespace_decl(void* data, const char* prefix, const char* uri) {
        StreamParser& p = self(data);
        if (p.state_->depth == 0 && !p.resuming_)
            p.root_namespaces_.emplace_back(prefix ? prefix : "", uri ? uri : "");
    }

    // Marks the input up to the end of the current event as complete at the top level.
    static void settle(StreamParser::State& s) {
        s.settled = XML_GetCurrentByteIndex(s.parser) + XML_GetCurrentByteCount(s.parser);
    }

    static void start(void* data, const char* name, const char** atts) {
        StreamParser& p = self(data);
        if (p.error_ != ParseError::none || p.reset_requested_) return;
        auto& s = *p.state_;
        ++s.depth;
        if (s.depth > p.limits_.max_depth + 1) {
            fail(p, ParseError::too_deep, "elements nested too deeply");
            return;
        }
        if (s.depth == 2) s.stanza_start = XML_GetCurrentByteIndex(s.parser);
        if (!check_size(p)) return;
        auto [local, ns] = split_name(name);
        Element e(std::move(local), std::move(ns));
        size_t count = 0;
        for (const char** a = atts; *a; a += 2) {
            if (++count > p.limits_.max_attrs) {
                fail(p, ParseError::too_deep, "too many attributes");
                return;
            }
            // Namespaced ones arrive as "uri local prefix"; they are kept as "uri local".
            std::string_view attr(a[0]);
            auto first = attr.find(' ');
            if (first != std::string_view::npos) attr = attr.substr(0, attr.find(' ', first + 1));
            e.set_attr(attr, a[1]);
        }
        if (s.depth == 1) {
            settle(s);
            if (!p.resuming_) {
                p.root_name_ = written_name(name);
                p.handler_.on_stream_open(e);
            }
            return;
        }
        s.stack.push_back(std::move(e));
    }

    static void end(void* data, const char*) {
        StreamParser& p = self(data);
        if (p.error_ != ParseError::none || p.reset_requested_) return;
        auto& s = *p.state_;
        if (s.depth == 1) {
            s.depth = 0;
            p.handler_.on_stream_close();
            return;
        }
        if (!check_size(p)) return;
        --s.depth;
        Element done = std::move(s.stack.back());
        s.stack.pop_back();
        if (s.stack.empty()) {
            settle(s);
            p.handler_.on_element(std::move(done));
            if (p.reset_requested_) XML_StopParser(s.parser, XML_FALSE);
        } else {
            s.stack.back().add(std::move(done));
        }
    }

    static void text(void* data, const char* chars, int len) {
        StreamParser& p = self(data);
        if (p.error_ != ParseError::none || p.reset_requested_) return;
        auto& s = *p.state_;
        if (s.stack.empty()) {  // whitespace between stanzas (keepalives)
            if (s.depth == 1) settle(s);
            return;
        }
        if (!check_size(p)) return;
        auto& children = s.stack.back().children();
        if (!children.empty() && children.back().is_text()) {
            // expat splits text at buffer and entity boundaries; join the pieces.
            children.back().mutable_text().append(chars, size_t(len));
        } else {
            s.stack.back().add_text(std::string(chars, size_t(len)));
        }
    }

    static void restricted(StreamParser& p, const char* what) {
        fail(p, ParseError::restricted_xml, what);
    }
    static void doctype(void* data, const char*, const char*, const char*, int) {
        restricted(self(data), "DTD not allowed");
    }
    static void entity(void* data, const char*, int, const char*, int, const char*, const char*,
                       const char*, const char*) {
        restricted(self(data), "entity declarations not allowed");
    }
    static void comment(void* data, const char*) { restricted(self(data), "comments not allowed"); }
    static void pi(void* data, const char*, const char*) {
        restricted(self(data), "processing instructions not allowed");
    }
};

StreamParser::StreamParser(Handler& handler, ParserLimits limits)
    : handler_(handler), limits_(limits) {
    create();
}

StreamParser::~StreamParser() = default;

void StreamParser::create() {
    state_ = std::make_unique<State>();
    root_namespaces_.clear();
    root_name_ = "stream";
    build_parser();
    error_ = ParseError::none;
    error_text_.clear();
}

void StreamParser::build_parser() {
    XML_Parser x = XML_ParserCreateNS("UTF-8", ' ');
    state_->parser = x;
    XML_SetUserData(x, this);
    XML_SetElementHandler(x, &ParserCallbacks::start, &ParserCallbacks::end);
    XML_SetCharacterDataHandler(x, &ParserCallbacks::text);
    XML_SetStartDoctypeDeclHandler(x, &ParserCallbacks::doctype);
    XML_SetEntityDeclHandler(x, &ParserCallbacks::entity);
    XML_SetCommentHandler(x, &ParserCallbacks::comment);
    XML_SetProcessingInstructionHandler(x, &ParserCallbacks::pi);
    XML_SetParamEntityParsing(x, XML_PARAM_ENTITY_PARSING_NEVER);
    XML_SetStartNamespaceDeclHandler(x, &ParserCallbacks::namespace_decl);
    XML_SetReturnNSTriplet(x, XML_TRUE);
}

bool StreamParser::holds_parser() const {
    return state_->parser != nullptr;
}

void StreamParser::release_if_idle() {
    auto& s = *state_;
    if (!s.parser || in_feed_ || error_ != ParseError::none || s.depth != 1 || !s.stack.empty() ||
        s.settled != s.fed_total)
        return;
    XML_ParserFree(s.parser);
    s.parser = nullptr;
    std::vector<Element>().swap(s.stack);
}

// A released parser comes back inside a stand-in root that declares what the real stream
// header declared, so the stanzas that follow resolve to the same namespaces.
static std::string stand_in_header(const std::string& name,
                                   const std::vector<std::pair<std::string, std::string>>& ns) {
    std::string out = "<" + name;
    for (const auto& [prefix, uri] : ns) {
        out += prefix.empty() ? " xmlns='" : " xmlns:" + prefix + "='";
        for (char c : uri) {
            if (c == '\'')
                out += "&apos;";
            else if (c == '&')
                out += "&amp;";
            else if (c == '<')
                out += "&lt;";
            else
                out += c;
        }
        out += '\'';
    }
    return out + '>';
}

void StreamParser::reset() {
    if (in_feed_) {
        reset_requested_ = true;  // feed() recreates the parser once expat has returned
        return;
    }
    create();
}

bool StreamParser::feed(std::string_view data) {
    if (error_ != ParseError::none) return false;
    if (!state_->parser) {
        auto& s = *state_;
        build_parser();
        s.depth = 0;
        std::string header = stand_in_header(root_name_, root_namespaces_);
        s.fed_total = XML_Index(header.size());
        s.settled = 0;
        resuming_ = true;
        XML_Status ok = XML_Parse(s.parser, header.data(), int(header.size()), XML_FALSE);
        resuming_ = false;
        if (ok != XML_STATUS_OK || s.depth != 1) {
            error_ = ParseError::not_well_formed;
            error_text_ = "cannot resume the stream";
            return false;
        }
    }
    state_->fed_total += XML_Index(data.size());
    in_feed_ = true;
    XML_Status status = XML_Parse(state_->parser, data.data(), int(data.size()), XML_FALSE);
    in_feed_ = false;
    if (reset_requested_) {
        reset_requested_ = false;
        create();
        return true;
    }
    if (error_ != ParseError::none) return false;
    if (status != XML_STATUS_OK) {
        error_ = ParseError::not_well_formed;
        error_text_ = XML_ErrorString(XML_GetErrorCode(state_->parser));
        return false;
    }
    // Input that ends inside a stanza still counts against the limit, and so does a start
    // tag not yet ended (expat has not reported it: it is counted from the last whole stanza),
    // which also bounds how much expat scans again on each feed while it waits for the '>'.
    auto& s = *state_;
    size_t pending = size_t(s.fed_total - (s.depth >= 2 ? s.stanza_start : s.settled));
    size_t limit = s.depth == 0 ? limits_.max_header_bytes : limits_.max_stanza_bytes;
    if (pending > limit) {
        error_ = ParseError::too_large;
        error_text_ =
            s.depth == 0 ? "stream header larger than the limit" : "stanza larger than the limit";
        return false;
    }
    return true;
}

std::string_view describe(ParseError e) {
    switch (e) {
        case ParseError::none:
            return "none";
        case ParseError::not_well_formed:
            return "not-well-formed";
        case ParseError::restricted_xml:
            return "restricted-xml";
        case ParseError::too_large:
            return "stanza-too-large";
        case ParseError::too_deep:
            return "too-deep";
    }
    return "unknown";
}

std::optional<Element> parse_fragment(std::string_view text) {
    struct One : StreamParser::Handler {
        std::optional<Element> got;
        int count = 0;
        void on_stream_open(const Element&) override {}
        void on_element(Element&& e) override {
            got = std::move(e);
            ++count;
        }
        void on_stream_close() override {}
    } h;
    ParserLimits limits;
    limits.max_stanza_bytes = text.size() + 64;
    StreamParser p(h, limits);
    std::string doc = "<root>";
    doc += text;
    doc += "</root>";
    if (!p.feed(doc) || h.count != 1) return std::nullopt;
    return std::move(h.got);
}

std::string_view StreamParser::default_namespace() const {
    for (const auto& [prefix, uri] : root_namespaces_)
        if (prefix.empty()) return uri;
    return {};
}

}  // namespace perch::xml
