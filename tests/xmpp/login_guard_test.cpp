#include "xmpp/login_guard.hpp"

#include <gtest/gtest.h>

using namespace perch;
using xmpp::LoginChannel;
using xmpp::LoginGuard;
using namespace std::chrono_literals;

namespace {

constexpr auto kXmpp = LoginChannel::xmpp;

struct Guarded {
    LoginGuard guard;
    LoginGuard::Clock::time_point now = LoginGuard::Clock::now();

    explicit Guarded(xmpp::LoginGuardOptions o = {}) : guard(o) {}
    // One attempt that fails; whether it was let through.
    bool fail(const char* account, const char* peer) {
        if (!guard.admit(account, peer, kXmpp, now).allowed) return false;
        guard.failed(account, peer, kXmpp, now);
        return true;
    }
    LoginGuard::Admission admit(const char* account, const char* peer) {
        return guard.admit(account, peer, kXmpp, now);
    }
};

}  // namespace

TEST(LoginGuard, AnAccountsDelaysDoubleAfterTheFreeFailuresThenItIsLocked) {
    Guarded g({.free_failures = 3, .max_delay = 8s, .lockout_failures = 9, .lockout = 600s});
    for (int i = 0; i < 4; ++i) EXPECT_TRUE(g.fail("alice", "198.51.100.7:1000")) << i;
    // The fourth started a delay of 1 s; then 2, 4, 8 and 8 (the cap), whatever the address.
    for (auto delay : {1s, 2s, 4s, 8s, 8s}) {
        auto refused = g.admit("alice", "203.0.113.1");
        EXPECT_FALSE(refused.allowed);
        EXPECT_EQ(refused.retry_after, delay);
        g.now += delay;
        EXPECT_TRUE(g.fail("alice", "198.51.100.7:1002"));
    }
    // That was the ninth: the account is locked for the lockout.
    auto locked = g.admit("alice", "203.0.113.1");
    EXPECT_FALSE(locked.allowed);
    EXPECT_EQ(locked.retry_after, 600s);
    // One account tried from an address says nothing against the address.
    EXPECT_TRUE(g.admit("bob", "198.51.100.7:1003").allowed);
    g.now += 599s;
    EXPECT_FALSE(g.admit("alice", "203.0.113.1").allowed);
    g.now += 1s;
    EXPECT_TRUE(g.admit("alice", "203.0.113.1").allowed);
    EXPECT_EQ(g.guard.failures(kXmpp), 9u);
    EXPECT_EQ(g.guard.refusals(kXmpp), 7u);
}

TEST(LoginGuard, AnAddressCountsTheAccountsThatFailedFromIt) {
    Guarded g({.free_failures = 3, .lockout_failures = 5, .lockout = 600s});
    // One client with an old password, failing again and again: one account.
    for (int i = 0; i < 3; ++i) {
        EXPECT_TRUE(g.fail("alice", "198.51.100.7")) << i;
        g.now += 60s;  // each after the account's own delay
    }
    EXPECT_TRUE(g.admit("bob", "198.51.100.7").allowed);
    // A guesser going through names: past three, each waits; at five, locked.
    EXPECT_TRUE(g.fail("carol", "198.51.100.7"));
    EXPECT_TRUE(g.fail("dave", "198.51.100.7"));
    EXPECT_TRUE(g.fail("erin", "198.51.100.7"));  // the fourth account: a delay of 1 s
    EXPECT_EQ(g.admit("frank", "198.51.100.7").retry_after, 1s);
    g.now += 1s;
    EXPECT_TRUE(g.fail("frank", "198.51.100.7"));  // the fifth: locked
    EXPECT_EQ(g.admit("gina", "198.51.100.7").retry_after, 600s);
    EXPECT_TRUE(g.admit("gina", "198.51.100.8").allowed);
}

TEST(LoginGuard, TheRightPasswordTakesBackTheDelayOrLockItsAttemptStarted) {
    Guarded g({.free_failures = 2, .lockout_failures = 4, .lockout = 600s});
    EXPECT_TRUE(g.fail("alice", "198.51.100.7"));
    EXPECT_TRUE(g.fail("alice", "198.51.100.7"));
    // The third attempt would start a delay, the fourth a lock: both right, both taken back.
    for (int i = 0; i < 2; ++i) {
        auto admitted = g.admit("alice", "198.51.100.7");
        ASSERT_TRUE(admitted.allowed) << i;
        g.guard.succeeded("alice", "198.51.100.7", admitted.ticket, g.now);
    }
    // Two attempts under way, the first right and the second wrong: the lock the second
    // started stands when the first succeeds.
    auto right = g.admit("alice", "198.51.100.7");
    g.now += 1s;
    auto wrong = g.admit("alice", "198.51.100.7");
    ASSERT_TRUE(right.allowed && wrong.allowed);
    g.guard.succeeded("alice", "198.51.100.7", right.ticket, g.now);
    g.guard.failed("alice", "198.51.100.7", kXmpp, g.now);
    EXPECT_EQ(g.admit("alice", "203.0.113.1").retry_after, 600s);
}

TEST(LoginGuard, AttemptsInParallelCountBeforeTheyFail) {
    Guarded g({.free_failures = 3});
    // Four attempts started together: the fourth is let through and starts the delay, the
    // fifth waits, although none has failed yet.
    for (int i = 0; i < 4; ++i) EXPECT_TRUE(g.admit("alice", "198.51.100.7").allowed) << i;
    EXPECT_FALSE(g.admit("alice", "198.51.100.7").allowed);
}

TEST(LoginGuard, ASuccessRefundsItsAttemptAndQuietTimeForgets) {
    Guarded g({.free_failures = 3, .forget_after = 900s});
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(g.fail("alice", "198.51.100.7"));
    // A right password costs nothing: the owner may keep signing in.
    for (int i = 0; i < 10; ++i) {
        auto admitted = g.admit("alice", "198.51.100.7");
        ASSERT_TRUE(admitted.allowed) << i;
        g.guard.succeeded("alice", "198.51.100.7", admitted.ticket, g.now);
    }
    EXPECT_TRUE(g.fail("alice", "198.51.100.7"));  // the fourth failure
    EXPECT_FALSE(g.admit("alice", "198.51.100.7").allowed);
    // Fifteen quiet minutes later the failures are forgotten.
    g.now += 901s;
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(g.fail("alice", "198.51.100.7")) << i;
    EXPECT_TRUE(g.admit("alice", "198.51.100.7").allowed);
}

TEST(LoginGuard, ALockedAccountStillLetsItsOwnerInFromWhereTheySignedInBefore) {
    Guarded g({.free_failures = 2, .lockout_failures = 4, .lockout = 600s});
    auto owner = g.admit("alice", "192.0.2.10:5000");
    ASSERT_TRUE(owner.allowed);
    g.guard.succeeded("alice", "192.0.2.10:5000", owner.ticket, g.now);
    // Guessers from many addresses (each below its own limit) lock the account.
    EXPECT_TRUE(g.fail("alice", "198.51.100.1"));
    EXPECT_TRUE(g.fail("alice", "198.51.100.2"));
    EXPECT_TRUE(g.fail("alice", "198.51.100.3"));
    g.now += 1s;
    EXPECT_TRUE(g.fail("alice", "198.51.100.4"));
    auto locked = g.admit("alice", "198.51.100.5");
    EXPECT_FALSE(locked.allowed);
    EXPECT_EQ(locked.retry_after, 600s);
    // The owner's address (another port, as a new connection has) is not locked out, and
    // signing in there changes nothing for the others.
    for (int i = 0; i < 3; ++i) {
        auto again = g.admit("alice", "192.0.2.10:5001");
        ASSERT_TRUE(again.allowed);
        g.guard.succeeded("alice", "192.0.2.10:5001", again.ticket, g.now);
    }
    EXPECT_EQ(g.admit("alice", "198.51.100.5").retry_after, 600s);
    // Other accounts are not concerned.
    EXPECT_TRUE(g.admit("bob", "198.51.100.6").allowed);
}

TEST(LoginGuard, UnknownAccountsAreGuardedLikeKnownOnes) {
    // The guard does not know which accounts exist: the same answers for every name.
    Guarded g({.free_failures = 1});
    EXPECT_TRUE(g.fail("nobody-here", "198.51.100.7"));
    EXPECT_TRUE(g.fail("nobody-here", "198.51.100.8"));
    EXPECT_FALSE(g.admit("nobody-here", "198.51.100.9").allowed);
}

TEST(LoginGuard, MemoryIsBoundedAndTheQuietAreForgottenFirst) {
    Guarded g({.free_failures = 1, .forget_after = 60s, .max_tracked = 100});
    // A busy guesser: locked out of "target".
    EXPECT_TRUE(g.fail("target", "198.51.100.7"));
    EXPECT_TRUE(g.fail("target", "198.51.100.7"));
    g.now += 61s;
    // Then a thousand names from a thousand addresses, a minute after.
    g.guard.succeeded("ignored", "192.0.2.1", {}, g.now);
    for (int i = 0; i < 1000; ++i) {
        std::string name = "user" + std::to_string(i);
        std::string peer = "10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256);
        EXPECT_TRUE(g.guard.admit(name, peer, kXmpp, g.now).allowed);
    }
    // Still working (a fresh name and address go through, a recent one is still followed).
    EXPECT_TRUE(g.admit("fresh", "192.0.2.99").allowed);
    EXPECT_TRUE(g.fail("user999", "10.0.3.231"));
    EXPECT_FALSE(g.admit("user999", "10.0.3.231").allowed);
}

TEST(LoginGuard, SourcesAreAddressesAndIpv6SubscribersTheirSlash64) {
    EXPECT_EQ(LoginGuard::source_of("198.51.100.7:5222"), "198.51.100.7");
    EXPECT_EQ(LoginGuard::source_of("198.51.100.7"), "198.51.100.7");
    EXPECT_EQ(LoginGuard::source_of("[2001:db8:1:2:3:4:5:6]:5222"), "2001:db8:1:2::/64");
    EXPECT_EQ(LoginGuard::source_of("2001:db8:1:2::9"), "2001:db8:1:2::/64");
    EXPECT_EQ(LoginGuard::source_of("[2001:db8:1:2::9]:443"), "2001:db8:1:2::/64");
    EXPECT_EQ(LoginGuard::source_of("[::ffff:198.51.100.7]:80"), "198.51.100.7");
    EXPECT_EQ(LoginGuard::source_of("[::1]:5222"), "::/64");
    // Two addresses of one /64 are one source.
    Guarded g({.free_failures = 1});
    EXPECT_TRUE(g.fail("alice", "[2001:db8:1:2::1]:4000"));
    EXPECT_TRUE(g.fail("bob", "[2001:db8:1:2::2]:4000"));
    EXPECT_FALSE(g.admit("carol", "[2001:db8:1:2::3]:4000").allowed);
}
