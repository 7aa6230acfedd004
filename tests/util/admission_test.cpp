// The count of pending work behind the client listeners' admission.
#include "util/admission.hpp"

#include <gtest/gtest.h>

#include <functional>

using perch::util::Admission;

TEST(Admission, ClosesAtItsLimitAndOpensWhenWorkFinishes) {
    Admission a(2);
    a.started();
    EXPECT_TRUE(a.open());
    a.started();
    EXPECT_FALSE(a.open());
    a.finished();
    EXPECT_TRUE(a.open());
    EXPECT_TRUE(Admission(0).open());  // no limit
}

// A ticket finishes its work once, whether its reply was called, dropped without a call, or
// both: a join whose answer never comes does not hold the door shut for good.
TEST(Admission, ATicketFinishesOnceWhenCalledOrDropped) {
    auto a = std::make_shared<Admission>(1);
    {
        auto ticket = std::make_shared<Admission::Ticket>(a);
        EXPECT_EQ(a->pending(), 1);
        ticket->finish();
        EXPECT_EQ(a->pending(), 0);
        ticket->finish();
    }
    EXPECT_EQ(a->pending(), 0);
    std::function<void()> reply;
    {
        auto ticket = std::make_shared<Admission::Ticket>(a);
        reply = [ticket] { ticket->finish(); };
    }
    EXPECT_FALSE(a->open());
    reply = nullptr;  // dropped without being called
    EXPECT_EQ(a->pending(), 0);
    EXPECT_TRUE(a->open());
}
