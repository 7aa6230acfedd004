#pragma once
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "util/ids.hpp"

// Fresh PostgreSQL databases for one test, dropped at its end, on the cluster whose connection
// string the file named by PERCH_TEST_PG_FILE holds (ctest's `postgres` fixture started it with
// scripts/pg-cluster.sh). Without that variable the suite runs on SQLite and this is inactive.
class TestDatabases {
  public:
    TestDatabases() {
        if (const char* file = std::getenv("PERCH_TEST_PG_FILE")) {
            std::ifstream in(file);
            std::getline(in, server_);
        }
    }
    ~TestDatabases() {
        for (const auto& name : created_)
            run("DROP DATABASE " + name + " WITH (FORCE)", "postgres");
    }
    TestDatabases(const TestDatabases&) = delete;
    TestDatabases& operator=(const TestDatabases&) = delete;

    bool active() const { return !server_.empty(); }
    const std::string& server() const { return server_; }

    // A new empty database; returns its connection string.
    std::string create() {
        std::string name = "perch_test_" + perch::util::random_id();
        for (auto& c : name)
            c = std::isalnum(static_cast<unsigned char>(c))
                    ? char(std::tolower(static_cast<unsigned char>(c)))
                    : '_';
        run("CREATE DATABASE " + name, "postgres");
        created_.push_back(name);
        return server_ + " dbname=" + name;
    }

    // One statement as the cluster's superuser.
    void run(const std::string& sql, const std::string& dbname) const {
        PGconn* c = PQconnectdb((server_ + " dbname=" + dbname).c_str());
        ASSERT_EQ(PQstatus(c), CONNECTION_OK) << PQerrorMessage(c);
        PGresult* r = PQexec(c, sql.c_str());
        EXPECT_TRUE(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK)
            << PQresultErrorMessage(r);
        PQclear(r);
        PQfinish(c);
    }

  private:
    std::string server_;
    std::vector<std::string> created_;
};
