// The header's one function is inline; this file gives the target a translation unit.
#include "stack_address.h"
