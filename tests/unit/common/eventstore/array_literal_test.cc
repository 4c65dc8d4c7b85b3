// The array literals the store sends as single parameters.
#include "common/eventstore/array_literal.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace eventstore {
namespace {

TEST(ArrayLiteralTest, EmptyIsBraces) {
  EXPECT_EQ(ArrayLiteral().Finish(), "{}");
}

// Quotes and backslashes in an element cannot end it early.
TEST(ArrayLiteralTest, ElementsAreQuotedAndEscaped) {
  ArrayLiteral literal;
  literal.Add("a");
  literal.Add("b\"c");
  literal.Add("d\\e");
  literal.Add("");
  literal.AddNull();
  literal.Add("NULL");
  EXPECT_EQ(std::move(literal).Finish(),
            R"({"a","b\"c","d\\e","",NULL,"NULL"})");
}

TEST(ArrayLiteralTest, OfRange) {
  const std::vector<std::string> values = {"x", "{y,z}"};
  EXPECT_EQ(ArrayLiteralOf(values, [](const std::string& v) { return v; }),
            R"({"x","{y,z}"})");
}

}  // namespace
}  // namespace eventstore
