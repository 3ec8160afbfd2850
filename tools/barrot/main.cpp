#include "cli.h"

int main(int argc, char** argv) {
  using namespace barrot::cli;
  static const Program program{
      "barrot",
      "record and inspect action and periodic snapshots",
      {&write_commands(),
       &periodic_commands(),
       &read_commands(),
       &search_commands(),
       &monitor_commands(),
       &maintain_commands()},
      "Exit codes: 0 ok, 1 failure,\n"
      "2 bad usage or input (nothing written),\n"
      "3 recorded, but its mirror or output incomplete (do not record it again).\n"};
  return run(argc, argv, program);
}
