// ZeroMQ (libzmq, Debian's libzmq3-dev): the sockets of the Jupyter messaging protocol.
#include <zmq.h>
