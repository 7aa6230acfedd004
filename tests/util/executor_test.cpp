// Long work on an executor in slices, with what is posted meanwhile running between them.
#include "util/executor.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <string>
#include <vector>

namespace {

struct Queue final : perch::util::Executor {
    std::deque<std::function<void()>> posted;
    void post(std::function<void()> work) override { posted.push_back(std::move(work)); }
    bool running_here() const override { return true; }
    size_t drain() {
        size_t ran = 0;
        for (; !posted.empty(); ++ran) {
            auto work = std::move(posted.front());
            posted.pop_front();
            work();
        }
        return ran;
    }
};

}  // namespace

TEST(RunInSlices, WorkPostedMeanwhileRunsBetweenSlicesAndEveryItemOnce) {
    Queue q;
    std::vector<std::string> ran;
    perch::util::run_in_slices(
        q, std::vector<int>{1, 2, 3},
        [&](int i) {
            ran.push_back("item " + std::to_string(i));
            if (i == 1) q.post([&] { ran.push_back("a command"); });
        },
        std::chrono::microseconds(0));  // one item a slice
    EXPECT_TRUE(ran.empty()) << "the first slice is posted, not run by the caller";
    q.drain();
    EXPECT_EQ(ran, (std::vector<std::string>{"item 1", "a command", "item 2", "item 3"}));
    // A generous slice takes them all at once; nothing to do posts nothing.
    ran.clear();
    perch::util::run_in_slices(q, std::vector<int>{4, 5},
                               [&](int i) { ran.push_back(std::to_string(i)); });
    EXPECT_EQ(q.drain(), 1u);
    EXPECT_EQ(ran, (std::vector<std::string>{"4", "5"}));
    perch::util::run_in_slices(q, std::vector<int>{}, [&](int) { ran.push_back("none"); });
    EXPECT_EQ(q.drain(), 0u);
}
