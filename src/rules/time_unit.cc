#include "rules/ast.h"

namespace verge::rules {

int64_t time_unit_ms(TimeUnit u) {
  switch (u) {
    case TimeUnit::Millisecond:
      return 1;
    case TimeUnit::Second:
      return 1000;
    case TimeUnit::Minute:
      return 60'000;
    case TimeUnit::Hour:
      return 3'600'000;
    case TimeUnit::Day:
      return 86'400'000;
  }
  return 1;
}

}  // namespace verge::rules
