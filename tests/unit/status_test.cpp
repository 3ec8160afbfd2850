#include "support/test_util.h"

using barrot::Result;
using barrot::Status;

namespace {

Result<int> half(int n) {
  if (n % 2 != 0) {
    return Status::InvalidArgument(std::to_string(n) + " is odd");
  }
  return n / 2;
}

Status quarter(int n, int* out) {
  BARROT_TRY_ASSIGN(int h, half(n));
  BARROT_TRY_ASSIGN(*out, half(h));
  return Status::OK();
}

} // namespace

TEST_CASE("a default status is OK and prints as OK", "[status]") {
  Status s;
  CHECK(s.ok());
  CHECK(s.ToString() == "OK");
}

TEST_CASE("named factories set the code and keep the message", "[status]") {
  CHECK(Status::NotFound("x").IsNotFound());
  CHECK(Status::Corruption("x").IsCorruption());
  CHECK(Status::IOError("x").IsIOError());
  CHECK(Status::Busy("x").IsBusy());
  CHECK(Status::SchemaTooNew("x").IsSchemaTooNew());
  Status s = Status::InvalidArgument("bad type");
  CHECK(s.IsInvalidArgument());
  CHECK(s.message() == "bad type");
  CHECK(s.ToString() == "invalid argument: bad type");
  CHECK(s.WithContext("action 2").message() == "action 2: bad type");
  CHECK(Status::OK().WithContext("ignored").ok());
}

TEST_CASE("TRY_ASSIGN passes values through and errors up", "[status]") {
  int out = 0;
  CHECK(quarter(8, &out).ok());
  CHECK(out == 2);
  Status s = quarter(6, &out);
  CHECK(s.IsInvalidArgument());
  CHECK(s.message() == "3 is odd");
}
