#include <gtest/gtest.h>

#include "util/histogram.hpp"

using perch::util::Histogram;

TEST(Histogram, CountsEachObservationInItsBucketCumulatively) {
    Histogram h;
    h.observe(0.0001);  // under the first bound
    h.observe(0.001);   // exactly on a bound: counted there
    h.observe(0.3);
    h.observe(42);  // above every bound
    EXPECT_EQ(h.count(), 4u);
    EXPECT_NEAR(h.sum(), 42.3011, 1e-6);
    auto text = h.render("t_seconds", "A test.");
    EXPECT_NE(text.find("# TYPE t_seconds histogram\n"), std::string::npos);
    EXPECT_NE(text.find("t_seconds_bucket{le=\"0.0005\"} 1\n"), std::string::npos) << text;
    EXPECT_NE(text.find("t_seconds_bucket{le=\"0.001\"} 2\n"), std::string::npos) << text;
    EXPECT_NE(text.find("t_seconds_bucket{le=\"0.25\"} 2\n"), std::string::npos) << text;
    EXPECT_NE(text.find("t_seconds_bucket{le=\"0.5\"} 3\n"), std::string::npos) << text;
    EXPECT_NE(text.find("t_seconds_bucket{le=\"10\"} 3\n"), std::string::npos) << text;
    EXPECT_NE(text.find("t_seconds_bucket{le=\"+Inf\"} 4\n"), std::string::npos) << text;
    EXPECT_NE(text.find("t_seconds_count 4\n"), std::string::npos) << text;
    EXPECT_NE(text.find("t_seconds_sum 42.301100\n"), std::string::npos) << text;
}

TEST(Histogram, LabelsAndNoHeaderForASecondSeries) {
    Histogram h;
    h.observe(-1);  // a clock going back counts as zero
    auto text = h.render("t_seconds", "A test.", "kind=\"x\"", false);
    EXPECT_EQ(text.find("# TYPE"), std::string::npos);
    EXPECT_NE(text.find("t_seconds_bucket{kind=\"x\",le=\"0.0005\"} 1\n"), std::string::npos)
        << text;
    EXPECT_NE(text.find("t_seconds_count{kind=\"x\"} 1\n"), std::string::npos) << text;
    EXPECT_NE(text.find("t_seconds_sum{kind=\"x\"} 0.000000\n"), std::string::npos) << text;
}
