#include "server/service/quoted_value.h"

#include <gtest/gtest.h>

#include <string>

namespace switchyard::server {
namespace {

TEST(QuotedValueTest, ShortValuesAreQuotedWhole) {
  EXPECT_EQ(QuotedValue("mixtral"), "\"mixtral\"");
  EXPECT_EQ(QuotedValue(std::string(100, 'a')), "\"" + std::string(100, 'a') + "\"");
}

TEST(QuotedValueTest, LongValuesAreCutAndTheirSizeGiven) {
  EXPECT_EQ(QuotedValue(std::string(3 << 20, 'm')), "\"" + std::string(100, 'm') + "...\" (3145728 bytes)");
}

TEST(QuotedValueTest, NoCharacterIsSplit) {
  // 99 ASCII bytes and then "é" (2 bytes) straddling the 100-byte cut.
  const std::string value = std::string(99, 'a') + "\xc3\xa9" + "tail";
  EXPECT_EQ(QuotedValue(value), "\"" + std::string(99, 'a') + "...\" (105 bytes)");
}

}  // namespace
}  // namespace switchyard::server
