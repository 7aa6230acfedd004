#include "store/postgres/db.hpp"

#include <cstdlib>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

#include "store/types.hpp"

namespace perch::store::postgres {

namespace {
constexpr Oid kInt8 = 20;
constexpr Oid kText = 25;

std::string message_of(PGconn* conn, const PGresult* result) {
    const char* m = result ? PQresultErrorMessage(result) : PQerrorMessage(conn);
    std::string s = m && *m ? m : "PostgreSQL error";
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

bool is_constraint(const PGresult* result) {
    const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
    return state && std::strncmp(state, "23", 2) == 0;  // class 23: integrity constraint
}
}  // namespace

std::string printable_conninfo(const std::string& conninfo) {
    char* error = nullptr;
    PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
    if (!options) {
        PQfreemem(error);
        return "(unreadable connection string)";
    }
    std::string out;
    for (auto* o = options; o->keyword; ++o) {
        if (!o->val || !*o->val || std::strcmp(o->keyword, "password") == 0) continue;
        if (!out.empty()) out += ' ';
        out += std::string(o->keyword) + "=" + o->val;
    }
    PQconninfoFree(options);
    return out;
}

std::string numbered_placeholders(std::string_view sql, int& count) {
    std::string out;
    out.reserve(sql.size() + 16);
    count = 0;
    bool quoted = false;
    for (char c : sql) {
        if (c == '\'') quoted = !quoted;
        if (c == '?' && !quoted) {
            out += '$';
            out += std::to_string(++count);
        } else {
            out += c;
        }
    }
    return out;
}

Statement::Statement(Connection& c, std::string name, std::string_view sql)
    : c_(c), name_(std::move(name)) {
    int count = 0;
    sql_ = numbered_placeholders(sql, count);
    values_.resize(size_t(count));
    types_.assign(size_t(count), 0);
}

Statement::~Statement() {
    PQclear(result_);
}

void Statement::set(int index, std::optional<std::string> value, Oid type) {
    if (index < 0 || size_t(index) >= values_.size())
        throw sql::Error("bind: no parameter " + std::to_string(index + 1) + " in " + sql_, false);
    values_[size_t(index)] = std::move(value);
    // Types are fixed when the statement is prepared; before that the latest binding decides.
    if (prepared_in_ != c_.generation_ && type) types_[size_t(index)] = type;
}

Statement& Statement::bind(int index, int64_t value) {
    set(index, std::to_string(value), kInt8);
    return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
    set(index, std::string(value), kText);
    return *this;
}

Statement& Statement::bind_null(int index) {
    set(index, std::nullopt, 0);
    return *this;
}

void Statement::execute() {
    std::vector<const char*> values(values_.size());
    for (size_t i = 0; i < values_.size(); ++i)
        values[i] = values_[i] ? values_[i]->c_str() : nullptr;
    int n = int(values.size());
    for (int attempt = 0; attempt < 2; ++attempt) {
        c_.in_transaction_hint_ = c_.in_transaction();
        PGresult* r = nullptr;
        if (name_.empty()) {
            r = PQexecParams(c_.conn_, sql_.c_str(), n, types_.data(), values.data(), nullptr,
                             nullptr, 0);
        } else {
            if (prepared_in_ != c_.generation_) {
                PGresult* p =
                    c_.check(PQprepare(c_.conn_, name_.c_str(), sql_.c_str(), n, types_.data()),
                             attempt == 0);
                if (!p) continue;  // reconnected: prepare again
                PQclear(p);
                prepared_in_ = c_.generation_;
            }
            r = PQexecPrepared(c_.conn_, name_.c_str(), n, values.data(), nullptr, nullptr, 0);
        }
        result_ = c_.check(r, attempt == 0);
        if (result_) break;
    }
    rows_ = result_ ? PQntuples(result_) : 0;
}

bool Statement::step() {
    if (!result_) {
        execute();
        row_ = -1;
    }
    return ++row_ < rows_;
}

void Statement::reset() {
    PQclear(result_);
    result_ = nullptr;
    row_ = -1;
    rows_ = 0;
    for (auto& v : values_) v.reset();
}

int64_t Statement::int_at(int col) const {
    return std::strtoll(PQgetvalue(result_, row_, col), nullptr, 10);
}

std::string Statement::text_at(int col) const {
    return std::string(PQgetvalue(result_, row_, col), size_t(PQgetlength(result_, row_, col)));
}

namespace {

// So that a database cut off by the network (packets dropped, nothing reset: a switch, a
// firewall, a host that died) is noticed in seconds rather than after the system's TCP
// timeouts (two hours for a wait on an idle connection, a quarter of an hour for data not
// acknowledged), while a store job or the pool's lease waits on it. A url may set each.
constexpr std::pair<const char*, const char*> kNetworkDefaults[] = {
    {"connect_timeout", "10"},    {"keepalives", "1"},       {"keepalives_idle", "10"},
    {"keepalives_interval", "3"}, {"keepalives_count", "3"}, {"tcp_user_timeout", "15000"},
};

PGconn* connect(const std::string& conninfo) {
    // Options before the expanded connection string are overridden by what it says.
    std::vector<const char*> keywords, values;
    for (const auto& [keyword, value] : kNetworkDefaults) {
        keywords.push_back(keyword);
        values.push_back(value);
    }
    keywords.push_back("dbname");
    values.push_back(conninfo.c_str());
    keywords.push_back(nullptr);
    values.push_back(nullptr);
    return PQconnectdbParams(keywords.data(), values.data(), 1);
}

}  // namespace

Connection::Connection(const std::string& conninfo) : conn_(connect(conninfo)) {
    if (!conn_ || PQstatus(conn_) != CONNECTION_OK) {
        std::string msg = conn_ ? message_of(conn_, nullptr) : "out of memory";
        PQfinish(conn_);
        conn_ = nullptr;
        throw sql::Error("cannot connect to PostgreSQL: " + msg, false);
    }
    // Notices ("relation already exists, skipping" …) are not errors; keep them off stderr.
    PQsetNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);
    exec("SET client_min_messages = warning");
}

Connection::~Connection() {
    cache_.clear();
    PQfinish(conn_);
}

PGresult* Connection::check(PGresult* result, bool may_retry) {
    auto status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
        const char* n = PQcmdTuples(result);
        changes_ = n && *n ? std::strtoll(n, nullptr, 10) : 0;
        return result;
    }
    std::string msg = message_of(conn_, result);
    bool constraint = is_constraint(result);
    PQclear(result);
    if (PQstatus(conn_) == CONNECTION_BAD) {
        // A restarted server or a dropped connection: outside a transaction nothing was
        // half-done, so reconnect and let the caller send the statement again.
        bool had_transaction = in_transaction_hint_;
        PQreset(conn_);
        ++generation_;
        in_transaction_hint_ = false;
        if (may_retry && !had_transaction && PQstatus(conn_) == CONNECTION_OK) return nullptr;
        // Within a transaction (or when no server takes the connection again) the caller
        // decides: a commit under way may or may not have been done.
        throw Unreachable("lost the connection to PostgreSQL: " + msg);
    }
    throw sql::Error(msg, constraint);
}

void Connection::exec(std::string_view sql) {
    std::string text(sql);
    for (int attempt = 0; attempt < 2; ++attempt) {
        bool was_in = in_transaction();
        in_transaction_hint_ = was_in;
        if (PGresult* r = check(PQexec(conn_, text.c_str()), attempt == 0 && !was_in)) {
            PQclear(r);
            return;
        }
    }
}

Statement& Connection::prepare(std::string_view sql) {
    auto it = cache_.find(std::string(sql));
    if (it == cache_.end()) {
        auto st = std::make_unique<Statement>(*this, "perch_" + std::to_string(++next_name_), sql);
        it = cache_.emplace(std::string(sql), std::move(st)).first;
    }
    it->second->reset();
    return *it->second;
}

std::unique_ptr<sql::Statement> Connection::statement(std::string_view sql) {
    return std::make_unique<Statement>(*this, std::string(), sql);
}

std::string Connection::option(const char* keyword) const {
    PQconninfoOption* options = PQconninfo(conn_);
    std::string value;
    for (auto* o = options; o && o->keyword; ++o)
        if (std::string_view(o->keyword) == keyword && o->val) value = o->val;
    PQconninfoFree(options);
    return value;
}

bool Connection::in_transaction() {
    auto s = PQtransactionStatus(conn_);
    return s == PQTRANS_INTRANS || s == PQTRANS_INERROR || s == PQTRANS_ACTIVE;
}

}  // namespace perch::store::postgres
