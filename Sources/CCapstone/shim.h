// The Capstone disassembler as Debian's libcapstone-dev installs it.
#include <capstone/capstone.h>
