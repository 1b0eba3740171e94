// ASSIGN_OR_RETURN(var, expr): evaluates `expr` (a Result<T, Error>);
// returns its error from the enclosing function, or declares `var` holding
// the value. Private to the attest layer, whose parsers chain many steps
// that each may fail.
#pragma once

#define ASSIGN_OR_RETURN(var, expr)               \
  auto var##_result = (expr);                     \
  if (!var##_result) return var##_result.error(); \
  auto var = std::move(*var##_result)
