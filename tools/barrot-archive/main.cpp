// barrot-archive: monthly retention over the barrot library.
#include "../barrot/cli.h"

int main(int argc, char** argv) {
  using namespace barrot::cli;
  static const Program program{
      "barrot-archive",
      "archive complete months past retention into verified zstd files; list, verify, restore",
      {&archive_commands()},
      "Exit codes: 0 ok (also: nothing\n"
      "was due), 1 failure or problems found, 2 bad usage or input (nothing changed),\n"
      "3 done in part: run archived months but could not finish (the next run\n"
      "does), or restore put a month back but its mirror is incomplete.\n"};
  return run(argc, argv, program);
}
