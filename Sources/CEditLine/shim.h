// libedit's native API. The variadic el_set/el_get/history are not imported by Swift:
// the REPL adds one static inline wrapper per form it needs here.
#include <stdio.h>
#include <histedit.h>
