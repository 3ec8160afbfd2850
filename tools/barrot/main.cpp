#include "cli.h"

int main(int argc, char** argv) {
  return barrot::cli::run(argc, argv);
}
