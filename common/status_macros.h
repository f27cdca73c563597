// Small helpers for absl::Status plumbing across module boundaries.
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define SY_CONCAT_INNER(a, b) a##b
#define SY_CONCAT(a, b) SY_CONCAT_INNER(a, b)

// Returns from the enclosing function if `expr` yields a non-OK status.
#define RETURN_IF_ERROR(expr)                            \
  do {                                                   \
    if (::absl::Status _sy_st = (expr); !_sy_st.ok()) {  \
      return _sy_st;                                     \
    }                                                    \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, F())` declares/assigns x from an OK StatusOr or
// returns its status.
#define ASSIGN_OR_RETURN(lhs, expr) \
  SY_ASSIGN_OR_RETURN_IMPL(SY_CONCAT(_sy_statusor_, __LINE__), lhs, expr)
#define SY_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(tmp).value()
